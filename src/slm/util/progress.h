#pragma once
// A progress bar for long work. On a terminal: one line redrawn in place with the share
// done, the rate and the time left. When stderr is not a terminal (CI logs, pipes): a
// plain line every few seconds. Silent when quiet.
#include <chrono>
#include <cstdint>
#include <string>

namespace slm {

class Progress {
 public:
  // total: the amount of work (0 when unknown); unit: what is counted ("MB", "stories").
  Progress(std::string label, double total, std::string unit, bool quiet = false);
  ~Progress();
  void update(double done, const std::string& extra = {});  // cheap: redraws at most 10×/s
  void finish(const std::string& extra = {});

 private:
  void draw(bool final, const std::string& extra);
  std::string label_, unit_;
  double total_, done_ = 0;
  bool quiet_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1.2 MB", "3.4 GB" for byte counts.
std::string human_bytes(double bytes);
// "1:02:03" or "2:03" for seconds.
std::string human_duration(double seconds);

}  // namespace slm
