// `slm scaling sweep --jobs N`: N points train at once, each in its own process. Processes
// rather than threads: a training run owns its OpenMP team, its signal handlers and its
// progress output, and a child per point keeps each of those as it is for one run, so a
// point trained here is exactly the point `--jobs 1` trains (same seeds, same losses).
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "slm/scaling/child_process.h"
#include "slm/scaling/sweep.h"
#include "slm/train/stop_signal.h"
#include "slm/train/train_checkpoint.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::scaling {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> child_args(const SweepOptions& opt, const std::string& exe, const std::string& point, int threads) {
  std::vector<std::string> a = {exe, "scaling", "sweep", "--config", opt.config, "--data", opt.data_dir, "--out",
                                opt.out_dir, "--threads", std::to_string(threads), "--seed", std::to_string(opt.seed),
                                "--only", point, "--quiet"};
  if (opt.stop_after >= 0) a.insert(a.end(), {"--stop-after", std::to_string(opt.stop_after)});
  return a;
}

}  // namespace

SweepResult run_points_in_parallel(const std::vector<GridPoint>& grid, const SweepOptions& opt) {
  SweepResult res;
  res.total = int(grid.size());
  std::vector<const GridPoint*> pending;
  for (const auto& p : grid) {
    const auto point = fs::path(opt.out_dir) / "runs" / p.name / "point.json";
    if (fs::exists(point)) ++res.skipped, res.points.push_back(json::parse(read_file(point.string())));
    else pending.push_back(&p);
  }
  const std::string exe = opt.exe.empty() ? fs::read_symlink("/proc/self/exe").string() : opt.exe;
  const int threads = std::max(1, opt.threads / opt.jobs);
  const auto logs = fs::path(opt.out_dir) / "logs";
  fs::create_directories(logs);
  if (!opt.quiet)
    fmt::print(stderr, "sweep: {} points to train, {} at once on {} thread{} each; output in {}/\n", pending.size(),
               opt.jobs, threads, threads > 1 ? "s" : "", logs.string());
  // Ctrl-C (which the terminal sends to the children as well) stops new launches; this
  // process keeps waiting for the children to save their checkpoints.
  train::StopSignal stop;
  Progress bar("sweep", double(pending.size()), "points", opt.quiet);
  std::map<pid_t, const GridPoint*> running;
  std::string failure;
  size_t next = 0;
  while (next < pending.size() || !running.empty()) {
    while (!train::StopSignal::received() && failure.empty() && next < pending.size() && int(running.size()) < opt.jobs) {
      const GridPoint* p = pending[next++];
      const std::string dir = (fs::path(opt.out_dir) / "runs" / p->name).string();
      res.resumed += !train::list_checkpoints(dir).empty();
      int err = 0;
      const pid_t pid = spawn_child(child_args(opt, exe, p->name, threads), (logs / (p->name + ".log")).string(), err);
      if (pid < 0) throw Error(std::string("could not start a sweep process: ") + std::strerror(err), exe);
      running[pid] = p;
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;  // Ctrl-C: keep waiting for the children's checkpoints
      throw Error(std::string("waiting for the sweep's processes: ") + std::strerror(errno), opt.out_dir);
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const GridPoint* p = it->second;
    running.erase(it);
    const auto point = fs::path(opt.out_dir) / "runs" / p->name / "point.json";
    if (child_exit_code(status) == 0 && fs::exists(point)) {
      ++res.trained;
      res.points.push_back(json::parse(read_file(point.string())));
    } else if (opt.stop_after < 0 && !train::StopSignal::received() && failure.empty()) {
      failure = fmt::format("point {} failed (exit status {}); see {}", p->name, child_exit_code(status),
                            (logs / (p->name + ".log")).string());
    } else {
      res.interrupted = true;
    }
    bar.update(double(res.trained));
  }
  bar.finish();
  if (!failure.empty()) throw Error(failure, opt.out_dir);
  if (train::StopSignal::received() || next < pending.size()) res.interrupted = true;
  if (res.interrupted) fmt::print(stderr, "sweep stopped; run the same command again to resume\n");
  return res;
}

}  // namespace slm::scaling
