#pragma once
// `slm scaling sweep`: trains every point of a sweep.json grid (sizes x token budgets, or
// IsoFLOP budgets) as an ordinary pre-training run folder under OUT/runs/. With the default
// cosine schedule each point is its own run whose decay ends at its own budget (a finished
// run, not a truncated longer one). With "train": {"schedule": "wsd"} each size trains one
// run, its longest budget (the trunk), and every shorter budget branches off it: a copy of
// the trunk's checkpoint at the step where that budget's decay starts, resumed with the
// budget's own max_steps, so it pays only for its decay (Hägele et al. 2024). Up to its
// decay a WSD run is the same for every budget (same warm-up, constant lr, same batches), so
// a branch is exactly the run it stands for. A point is done when its
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
  int64_t warmup_steps = 0;   // 0: warmup_fraction of steps; WSD: of the size's shortest budget, for all
  std::string trunk;          // WSD: the size's longest point, whose run this one branches off ("": none)
  int64_t trunk_steps = 0;    // WSD: that run's steps
  int64_t branch_step = 0;    // WSD: the trunk's step this run starts from (the start of its own decay)
  // WSD: every point of the size that branches off the trunk, (name, branch step) by step.
  // Whichever of the size's runs trains the trunk past one of those steps first copies the
  // checkpoint there into that point's folder, so the points may be trained in any order.
  std::vector<std::pair<std::string, int64_t>> branches;
};

// The grid's points in training order (small and short first), with the vocabulary of the
// data filled in. Points whose budget is under min_steps are dropped.
std::vector<GridPoint> plan_grid(const SweepConfig& c, int vocab_size);

// The one run of a point: its steps, warm-up and checkpoint spacing in the train section.
train::TrainConfig point_train_config(const SweepConfig& c, const GridPoint& p);

// The steps the grid trains in all, and what separate runs of every point would take.
struct GridCost {
  int64_t steps = 0, separate_steps = 0;
};
GridCost grid_cost(const std::vector<GridPoint>& grid);

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
  std::string only;        // train just this point, or every point of this size (what each of those
                           // processes is asked: a point, or with WSD a size, whose points share a run)
  std::string exe;         // the slm executable for those processes; "" for this one (/proc/self/exe)
};

struct SweepResult {
  int trained = 0, resumed = 0, skipped = 0, total = 0;
  bool interrupted = false;
  std::vector<nlohmann::json> points;  // the point.json of every finished point
};

SweepResult run_sweep(const SweepOptions& opt);

// The points of grid not yet finished, `opt.jobs` at a time, each by a child
// `slm scaling sweep --only NAME` writing its output to OUT/logs/NAME.log (sweep_jobs.cpp);
// with WSD a child trains a whole size (its points share the trunk run).
// Ctrl-C reaches the children too: each saves a checkpoint, and no new point starts.
SweepResult run_points_in_parallel(const std::vector<GridPoint>& grid, const SweepOptions& opt);

// Trains, measures and records one point into dir (used for the held-out run too).
// Returns false when the run was interrupted.
bool run_point(const GridPoint& p, const SweepConfig& c, const SweepOptions& opt, const std::string& dir,
               bool& resumed);

// Whether dir holds p's run stopped part-way (Ctrl-C, --stop-after): a latest checkpoint
// that is not one a WSD trunk leaves its branches (those mark a planned start, not a resume).
bool resumes_interrupted_run(const GridPoint& p, const std::string& dir);

// The point.json files under OUT/runs/ (finished points), sorted by N then D.
std::vector<nlohmann::json> read_points(const std::string& out_dir);

}  // namespace slm::scaling
