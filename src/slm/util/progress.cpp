#include "slm/util/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace slm {

using Clock = std::chrono::steady_clock;

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) b /= 1000, ++u;
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string human_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  long t = long(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

ProgressOutput ProgressOutput::standard_error() {
  ProgressOutput o;
  o.tty = ::isatty(2);
  o.write = [](const std::string& text) {
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  };
  o.now = [] { return Clock::now(); };
  return o;
}

Progress::Progress(std::string label, double total, std::string unit, bool quiet, ProgressOutput out)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), quiet_(quiet), out_(std::move(out)),
      start_(out_.now()), last_draw_(start_) {}

Progress::~Progress() {
  if (!finished_ && out_.tty && !quiet_) out_.write("\n");  // leave the terminal's line drawn
}

void Progress::update(double done, const std::string& extra) {
  done_ = done;
  if (quiet_) return;
  // A log gets a line every few seconds, not one per update: a long run stays readable.
  auto now = out_.now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (out_.tty ? kTtyEvery : kPlainEvery)) return;
  last_draw_ = now;
  draw(false, extra);
}

void Progress::finish(const std::string& extra) {
  if (finished_) return;
  finished_ = true;
  if (!quiet_) draw(true, extra);
}

void Progress::draw(bool final, const std::string& extra) {
  double elapsed = std::chrono::duration<double>(out_.now() - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0;
  std::string line = label_;
  if (total_ > 0) {
    double frac = std::min(1.0, done_ / total_);
    const int width = 24;
    int filled = int(frac * width);
    line += fmt::format(" [{}{}] {:3.0f}%", std::string(filled, '#'), std::string(width - filled, '.'), frac * 100);
    line += fmt::format(" {:.1f}/{:.1f} {}", done_, total_, unit_);
  } else {
    line += fmt::format(" {:.1f} {}", done_, unit_);
  }
  line += fmt::format(" | {:.2f} {}/s", rate, unit_);
  if (final)
    line += " | " + human_duration(elapsed);
  else if (total_ > 0 && rate > 0)
    line += " | ETA " + human_duration((total_ - done_) / rate);
  if (!extra.empty()) line += " | " + extra;
  out_.write(out_.tty ? "\r\033[2K" + line + (final ? "\n" : "") : line + "\n");
}

}  // namespace slm
