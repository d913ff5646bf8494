#pragma once
// `slm scaling sweep`: trains every point of a sweep.json grid (sizes x token budgets, or
// IsoFLOP budgets) as an ordinary pre-training run folder under OUT/runs/, with a cosine
// schedule that ends at the run's own budget (warm-up, then decay to min_lr at its last
// step: each point is a finished run, not a truncated longer one). A point is done when its
// point.json exists: a rerun skips it, resumes a run that has a checkpoint, and trains the
// rest. After training a point it records the data point (validation loss on the held-out
// shards), the induction-head score of every kept checkpoint, and, for the largest budget
// of each size, the few-shot abilities (emergence.h).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/scaling/sweep_config.h"

namespace slm::scaling {

struct GridPoint {
  std::string name;  // the run folder's name: SIZE-TOKENS
  SweepSize size;
  int64_t N = 0;     // non-embedding parameters
  int64_t steps = 0;
  double tokens = 0;  // steps x tokens a step (the budget rounded up to whole steps)
  bool abilities = false;  // the largest budget of its size: evaluate the few-shot tasks here
};

// The grid's points in training order (small and short first), with the vocabulary of the
// data filled in. Points whose budget is under min_steps are dropped.
std::vector<GridPoint> plan_grid(const SweepConfig& c, int vocab_size);

// The one run of a point: its steps, warm-up and checkpoint spacing in the train section.
train::TrainConfig point_train_config(const SweepConfig& c, int64_t steps);

struct SweepOptions {
  std::string config;    // sweep.json
  std::string data_dir;  // shards from slm data pack (train_*.bin, val_*.bin, tokenizer.json)
  std::string out_dir;
  int threads = 1;
  bool quiet = false;
  uint64_t seed = 1;       // the few-shot items and the induction sequences
  int64_t stop_after = -1; // stop the first run trained here after this many steps, as Ctrl-C does (tests);
                           // with jobs > 1, every run then in flight
  int jobs = 1;            // points trained at once, each by its own `slm` process on threads / jobs cores
  std::string only;        // train just this point (what each of those processes is asked)
  std::string exe;         // the slm executable for those processes; "" for this one (/proc/self/exe)
};

struct SweepResult {
  int trained = 0, resumed = 0, skipped = 0, total = 0;
  bool interrupted = false;
  std::vector<nlohmann::json> points;  // the point.json of every finished point
};

SweepResult run_sweep(const SweepOptions& opt);

// The points of grid not yet finished, `opt.jobs` at a time, each by a child
// `slm scaling sweep --only NAME` writing its output to OUT/logs/NAME.log (sweep_jobs.cpp).
// Ctrl-C reaches the children too: each saves a checkpoint, and no new point starts.
SweepResult run_points_in_parallel(const std::vector<GridPoint>& grid, const SweepOptions& opt);

// Trains, measures and records one point into dir (used for the held-out run too).
// Returns false when the run was interrupted.
bool run_point(const GridPoint& p, const SweepConfig& c, const SweepOptions& opt, const std::string& dir,
               bool& resumed);

// The point.json files under OUT/runs/ (finished points), sorted by N then D.
std::vector<nlohmann::json> read_points(const std::string& out_dir);

}  // namespace slm::scaling
