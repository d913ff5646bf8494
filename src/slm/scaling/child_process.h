#pragma once
// Child processes for the sweep's helpers: the SVG renderer (plot_png.h) and, with
// `--jobs N`, one `slm scaling sweep --only POINT` per point in flight (sweep.h). Started
// with posix_spawnp (no shell, so no quoting), output to a file or /dev/null.
#include <sys/types.h>

#include <string>
#include <vector>

namespace slm::scaling {

// Starts args[0] (looked up on PATH) with its stdout and stderr appended to log ("" for
// /dev/null). Returns the pid, or -1 with the errno in err when it could not start.
pid_t spawn_child(const std::vector<std::string>& args, const std::string& log, int& err);

// The exit status of a child from waitpid's status (128 + the signal when a signal ended it).
int child_exit_code(int status);

// Starts args and waits for it: its exit status, or -1 with err set when it could not start.
int run_child(const std::vector<std::string>& args, int& err);

}  // namespace slm::scaling
