// `slm scaling sweep --jobs N`: N points train at once, each in its own process. Processes
// rather than threads: a training run owns its OpenMP team, its signal handlers and its
// progress output, and a child per point keeps each of those as it is for one run, so a
// point trained here is exactly the point `--jobs 1` trains (same seeds, same losses).
#include <sys/wait.h>

#include <algorithm>
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
  // What one child trains: a point; with WSD a size, whose points share the trunk's run and
  // must be trained in order (shortest first), by one process.
  struct Unit {
    std::string name;
    std::vector<const GridPoint*> points;
  };
  const bool by_size = std::any_of(grid.begin(), grid.end(), [](const GridPoint& p) { return !p.trunk.empty(); });
  std::vector<Unit> pending;
  for (const auto& p : grid) {
    const auto point = fs::path(opt.out_dir) / "runs" / p.name / "point.json";
    if (fs::exists(point)) {
      ++res.skipped, res.points.push_back(json::parse(read_file(point.string())));
      continue;
    }
    const std::string unit = by_size ? p.size.name : p.name;
    auto u = std::find_if(pending.begin(), pending.end(), [&](const Unit& x) { return x.name == unit; });
    if (u == pending.end()) pending.push_back({unit, {&p}});
    else u->points.push_back(&p);
  }
  const std::string exe = opt.exe.empty() ? fs::read_symlink("/proc/self/exe").string() : opt.exe;
  // With fewer units than jobs (WSD sizes) each child gets the cores the others leave.
  const int threads = std::max(1, opt.threads / std::max(1, std::min(opt.jobs, int(pending.size()))));
  const auto logs = fs::path(opt.out_dir) / "logs";
  fs::create_directories(logs);
  if (!opt.quiet)
    fmt::print(stderr, "sweep: {} {} to train, {} at once on {} thread{} each; output in {}/\n", pending.size(),
               by_size ? "sizes" : "points", opt.jobs, threads, threads > 1 ? "s" : "", logs.string());
  // Ctrl-C (which the terminal sends to the children as well) stops new launches; this
  // process keeps waiting for the children to save their checkpoints.
  train::StopSignal stop;
  Progress bar("sweep", double(res.total - res.skipped), "points", opt.quiet);
  std::map<pid_t, const Unit*> running;
  std::string failure;
  size_t next = 0;
  while (next < pending.size() || !running.empty()) {
    while (!train::StopSignal::received() && failure.empty() && next < pending.size() && int(running.size()) < opt.jobs) {
      const Unit* u = &pending[next++];
      for (const GridPoint* p : u->points)
        res.resumed += resumes_interrupted_run(*p, (fs::path(opt.out_dir) / "runs" / p->name).string());
      int err = 0;
      const pid_t pid = spawn_child(child_args(opt, exe, u->name, threads), (logs / (u->name + ".log")).string(), err);
      if (pid < 0) throw Error(std::string("could not start a sweep process: ") + std::strerror(err), exe);
      running[pid] = u;
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
    const Unit* u = it->second;
    running.erase(it);
    int done = 0;
    for (const GridPoint* p : u->points) {
      const auto point = fs::path(opt.out_dir) / "runs" / p->name / "point.json";
      if (fs::exists(point)) ++done, ++res.trained, res.points.push_back(json::parse(read_file(point.string())));
    }
    if (child_exit_code(status) != 0 || done < int(u->points.size())) {
      if (opt.stop_after < 0 && !train::StopSignal::received() && failure.empty())
        failure = fmt::format("{} failed (exit status {}); see {}", u->name, child_exit_code(status),
                              (logs / (u->name + ".log")).string());
      else
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
