#pragma once
// A progress bar for long work. On a terminal: one line redrawn in place with the share
// done, the rate and the time left. When stderr is not a terminal (CI logs, pipes): a
// plain line every few seconds. Silent when quiet.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace slm {

// Where a bar draws and the time it reads. By default: stderr, whether stderr is a
// terminal, and the steady clock; tests put a string and a clock they move by hand here.
struct ProgressOutput {
  bool tty = false;
  std::function<void(const std::string& text)> write;       // text as drawn ("\r..." or "...\n")
  std::function<std::chrono::steady_clock::time_point()> now;
  static ProgressOutput standard_error();
};

class Progress {
 public:
  static constexpr double kTtyEvery = 0.1;   // seconds between redraws on a terminal
  static constexpr double kPlainEvery = 5.0; // seconds between lines in a log

  // total: the amount of work (0 when unknown); unit: what is counted ("MB", "stories").
  Progress(std::string label, double total, std::string unit, bool quiet = false,
           ProgressOutput out = ProgressOutput::standard_error());
  ~Progress();
  void update(double done, const std::string& extra = {});  // cheap: draws only when the interval has passed
  void finish(const std::string& extra = {});                // the final line, always drawn (unless quiet)

 private:
  void draw(bool final, const std::string& extra);
  std::string label_, unit_;
  double total_, done_ = 0;
  bool quiet_, finished_ = false;
  ProgressOutput out_;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1.2 MB", "3.4 GB" for byte counts.
std::string human_bytes(double bytes);
// "1:02:03" or "2:03" for seconds.
std::string human_duration(double seconds);

}  // namespace slm
