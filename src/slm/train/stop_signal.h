#pragma once
// Ctrl-C (SIGINT) and SIGTERM as a request to stop cleanly: while a StopSignal lives, the
// signals only set a flag that the work polls (a training run saves a checkpoint, a
// parallel sweep starts no new point); the old handlers come back when it ends.
#include <csignal>

namespace slm::train {

class StopSignal {
 public:
  StopSignal();  // clears the flag and installs the handlers
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;
  // The signal received since the last StopSignal started, or 0.
  static int received();

 private:
  struct sigaction old_int_ {}, old_term_ {};
};

}  // namespace slm::train
