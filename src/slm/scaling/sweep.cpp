#include "slm/scaling/sweep.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "slm/data/pack.h"
#include "slm/data/shard.h"
#include "slm/model/model_files.h"
#include "slm/scaling/emergence.h"
#include "slm/scaling/induction.h"
#include "slm/train/pretrain.h"
#include "slm/train/stop_signal.h"
#include "slm/train/train_checkpoint.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::scaling {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string short_count(double v) {
  if (v >= 1e9) return fmt::format("{:g}G", std::round(v / 1e7) / 100);
  if (v >= 1e6) return fmt::format("{:g}M", std::round(v / 1e4) / 100);
  if (v >= 1e3) return fmt::format("{:g}k", std::round(v / 10) / 100);
  return fmt::format("{:g}", v);
}

int64_t tokens_per_step(const SweepConfig& c, const model::ModelConfig& m) {
  return int64_t(c.train.batch_size) * c.train.grad_accum * m.context;
}

// The step a checkpoint folder holds (its trainer_state.json).
int64_t checkpoint_step(const std::string& dir) {
  auto j = json::parse(read_file((fs::path(dir) / "trainer_state.json").string()), nullptr, false);
  return j.is_object() ? j.value("step", int64_t(-1)) : -1;
}

int data_vocab(const std::string& data_dir) {
  const auto meta = fs::path(data_dir) / "meta.json";
  if (!fs::exists(meta)) throw Error("no meta.json: make the shards with slm data pack", data_dir);
  auto j = json::parse(read_file(meta.string()), nullptr, false);
  if (!j.is_object() || !j.contains("vocab_size")) throw Error("meta.json has no vocab_size", meta.string());
  return j["vocab_size"].get<int>();
}

// The induction score of a model at a point of its training.
json induction_json(model::Transformer<float>& m, const EvalSpec& e, int eot, uint64_t seed, int64_t step,
                    double tokens) {
  json j = induction_record(m, e.induction_length, e.induction_windows, eot, seed);
  j["step"] = step, j["tokens"] = tokens;
  return j;
}

}  // namespace

train::TrainConfig point_train_config(const SweepConfig& c, const GridPoint& p) {
  train::TrainConfig tc = c.train;
  apply_size_lr(p.size, tc);
  tc.max_steps = p.steps;
  tc.warmup_steps = p.warmup_steps > 0 ? p.warmup_steps
                                       : std::max<int64_t>(1, int64_t(std::round(c.warmup_fraction * double(p.steps))));
  tc.eval_every = p.steps;  // the one validation that matters is the end's; the sweep measures it
  tc.checkpoint_every = std::max<int64_t>(1, p.steps / 4);
  tc.keep_checkpoints = 5;  // the induction score along training reads them
  return tc;
}

std::vector<GridPoint> plan_grid(const SweepConfig& c, int vocab_size) {
  const bool wsd = c.train.schedule == "wsd";
  std::vector<GridPoint> out;
  for (const auto& s : c.sizes) {
    SweepSize size = s;
    size.model.vocab_size = vocab_size;
    size.model.validate(c.path + ": size " + s.name);
    const int64_t N = non_embedding_params(size.model);
    std::vector<double> budgets = c.tokens;
    for (double C : c.flops) budgets.push_back(C / (6.0 * double(N)));
    const int64_t tps = tokens_per_step(c, size.model);
    size_t first = out.size();
    for (double D : budgets) {
      int64_t steps = int64_t(std::ceil(D / double(tps)));
      if (steps < c.min_steps) continue;
      GridPoint p;
      p.size = size, p.N = N, p.steps = steps, p.tokens = double(steps * tps);
      p.name = s.name + "-" + short_count(p.tokens);
      if (std::none_of(out.begin(), out.end(), [&](const GridPoint& q) { return q.name == p.name; })) out.push_back(p);
    }
    if (out.size() == first) continue;
    auto longest = std::max_element(out.begin() + long(first), out.end(),
                                    [](const GridPoint& a, const GridPoint& b) { return a.tokens < b.tokens; });
    longest->abilities = true;
    if (!wsd) continue;
    // WSD: one warm-up for the whole size (a share of its shortest budget), so that every
    // budget's run is the trunk's until its own decay starts.
    int64_t shortest = INT64_MAX;
    for (auto q = out.begin() + long(first); q != out.end(); ++q) shortest = std::min(shortest, q->steps);
    const int64_t warmup = std::max<int64_t>(1, int64_t(std::round(c.warmup_fraction * double(shortest))));
    const GridPoint trunk = *longest;
    std::vector<std::pair<std::string, int64_t>> branches;
    for (auto q = out.begin() + long(first); q != out.end(); ++q) {
      q->warmup_steps = warmup;
      q->trunk = trunk.name, q->trunk_steps = trunk.steps;
      if (q->name == trunk.name) continue;
      q->branch_step = train::decay_start(point_train_config(c, *q));
      branches.emplace_back(q->name, q->branch_step);
    }
    std::sort(branches.begin(), branches.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    for (auto q = out.begin() + long(first); q != out.end(); ++q) q->branches = branches;
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const GridPoint& a, const GridPoint& b) { return a.N * a.tokens < b.N * b.tokens; });
  return out;
}

GridCost grid_cost(const std::vector<GridPoint>& grid) {
  GridCost g;
  for (const auto& p : grid) g.separate_steps += p.steps, g.steps += p.steps - p.branch_step;
  return g;
}

namespace {

// The training run of point p in dir: the same for a point's own run and for a WSD trunk
// advanced on a branch's behalf (p with the trunk's steps), so a branch is the run it stands for.
train::PretrainOptions point_run(const GridPoint& p, const SweepConfig& c, const SweepOptions& opt,
                                 const std::string& dir) {
  train::PretrainOptions po;
  po.model = p.size.model;
  po.train = point_train_config(c, p);
  po.data_dir = opt.data_dir;
  po.out_dir = dir;
  po.threads = opt.threads;
  po.quiet = opt.quiet;
  return po;
}

// Copies a file or folder to dst through a temporary name, so dst is whole or absent.
void copy_whole(const fs::path& src, const fs::path& dst) {
  const fs::path tmp = dst.string() + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp.parent_path());
  fs::copy(src, tmp, fs::copy_options::recursive);
  fs::rename(tmp, dst);
}

// WSD: trains the size's trunk run on (from its latest checkpoint) to step `upto`, stopping
// at each branch step on the way whose point has not started (no point.json, no checkpoint)
// to put a copy of the checkpoint there, and of the trunk's metrics so far, into that
// point's folder; the point's own run resumes from it. `budget` is what is left of
// --stop-after (< 0: none), counted down by the steps trained here. Returns false when the
// trunk stopped short of `upto` (Ctrl-C or --stop-after).
bool advance_trunk(const GridPoint& p, const SweepConfig& c, const SweepOptions& opt, const fs::path& runs,
                   int64_t upto, int64_t& budget) {
  const fs::path trunk_dir = runs / p.trunk;
  auto latest = [&] {
    auto cps = train::list_checkpoints(trunk_dir.string());
    return cps.empty() ? int64_t(0) : checkpoint_step(cps.back());
  };
  for (const auto& [name, step] : p.branches) {
    if (step > upto) break;
    const fs::path branch = runs / name;
    if (fs::exists(branch / "point.json") || !train::list_checkpoints(branch.string()).empty()) continue;
    int64_t at = latest();
    if (at < step) {
      if (budget == 0) return false;
      GridPoint t = p;
      t.steps = p.trunk_steps;
      train::PretrainOptions po = point_run(t, c, opt, trunk_dir.string());
      po.stop_after = budget >= 0 ? std::min(step - at, budget) : step - at;
      po.stop_quietly = true;  // a planned stop, not an interruption to report
      if (at > 0) po.resume = trunk_dir.string();
      train::pretrain(po);
      const int64_t now = latest();
      if (budget >= 0) budget = std::max<int64_t>(0, budget - (now - at));
      at = now;
      if (train::StopSignal::received() || at < step) return false;
    }
    std::string cp;
    for (const auto& x : train::list_checkpoints(trunk_dir.string()))
      if (checkpoint_step(x) == step) cp = x;
    if (cp.empty())
      throw Error(fmt::format("{} branches off step {} of {}, which has gone past it without keeping that "
                              "checkpoint; delete {} to train it again (its branches stay valid: the trunk "
                              "retrains the same)",
                              name, step, p.trunk, trunk_dir.string()),
                  trunk_dir.string());
    if (!opt.quiet) fmt::print(stderr, "{}: branches off {} at step {}\n", name, p.trunk, step);
    // The metrics first: the checkpoint's arrival is what marks the branch as started.
    const fs::path metrics = trunk_dir / "metrics.jsonl";
    if (fs::exists(metrics)) copy_whole(metrics, branch / "metrics.jsonl");
    copy_whole(cp, branch / "checkpoints" / fs::path(cp).filename());
  }
  return true;
}

}  // namespace

bool resumes_interrupted_run(const GridPoint& p, const std::string& dir) {
  const auto cps = train::list_checkpoints(dir);
  if (cps.empty()) return false;
  const int64_t step = checkpoint_step(cps.back());
  return std::none_of(p.branches.begin(), p.branches.end(), [&](const auto& b) { return b.second == step; });
}

bool run_point(const GridPoint& p, const SweepConfig& c, const SweepOptions& opt, const std::string& dir, bool& resumed) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string model_dir = (fs::path(dir) / "model").string();
  resumed = false;
  if (!fs::exists(fs::path(model_dir) / "model.safetensors")) {
    // A resume: this run's own, or a trunk stopped part-way that this branch's run goes on with.
    const std::string trunk_dir = (fs::path(dir).parent_path() / p.trunk).string();
    const bool interrupted_before =
        resumes_interrupted_run(p, dir) ||
        (!p.trunk.empty() && p.name != p.trunk && train::list_checkpoints(dir).empty() &&
         resumes_interrupted_run(p, trunk_dir) && checkpoint_step(train::list_checkpoints(trunk_dir).back()) < p.branch_step);
    int64_t budget = opt.stop_after;
    if (!p.trunk.empty()) {
      // WSD: a branch needs the trunk at its own branch step; the trunk first passes every
      // branch step, leaving each unstarted branch its checkpoint.
      const bool trunk = p.name == p.trunk;
      const int64_t upto = trunk ? (p.branches.empty() ? 0 : p.branches.back().second) : p.branch_step;
      if (!advance_trunk(p, c, opt, fs::path(dir).parent_path(), upto, budget)) return false;
      if (!trunk && train::list_checkpoints(dir).empty()) return false;
      if (budget == 0) return false;
    }
    train::PretrainOptions po = point_run(p, c, opt, dir);
    po.stop_after = budget;
    if (!train::list_checkpoints(dir).empty()) po.resume = dir, resumed = interrupted_before;
    auto r = train::pretrain(po);
    if (r.interrupted) return false;
  }
  // The data point: the final model's loss on the held-out shards.
  auto lm = model::load_model_and_tokenizer(model_dir);
  auto& m = *lm.model;
  data::OpenShards val(data::list_shards(opt.data_dir, "val"));
  if (val.owned.empty()) throw Error("no val_*.bin shards: the sweep's data points are validation losses", opt.data_dir);
  const int B = c.train.batch_size, T = m.config().context;
  const double val_loss = train::shard_loss(m, val, B, T, c.eval.val_batches);
  const int eot = int(lm.tok->eot());
  json pt = {{"name", p.name}, {"size", p.size.name}, {"N", p.N}, {"params", m.num_params()},
             {"D", p.tokens}, {"steps", p.steps}, {"C", 6.0 * double(p.N) * p.tokens}, {"val_loss", val_loss},
             {"model", p.size.model.to_json()}, {"schedule", c.train.schedule},
             {"lr", point_train_config(c, p).lr}, {"family", p.size.family.empty() ? p.size.name : p.size.family}};
  if (!p.trunk.empty() && p.name != p.trunk) pt["branch"] = {{"trunk", p.trunk}, {"step", p.branch_step}};
  // The induction score along training: every kept checkpoint, then the final model.
  if (c.eval.induction_windows > 0) {
    json ind = json::array();
    const double tps = p.tokens / double(p.steps);
    for (const auto& cp : train::list_checkpoints(dir)) {
      const int64_t step = checkpoint_step(cp);
      if (step <= 0 || step >= p.steps) continue;
      auto cm = model::load_model(cp);
      ind.push_back(induction_json(*cm, c.eval, eot, opt.seed, step, double(step) * tps));
    }
    ind.push_back(induction_json(m, c.eval, eot, opt.seed, p.steps, p.tokens));
    pt["induction"] = ind;
  }
  if (p.abilities) {
    json ab = json::array();
    for (const auto& t : evaluate_abilities(m, *lm.tok, c.eval, opt.seed, opt.quiet)) ab.push_back(t.to_json());
    pt["abilities"] = ab;
  }
  pt["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_file_atomic((fs::path(dir) / "point.json").string(), pt.dump(1) + "\n");
  return true;
}

SweepResult run_sweep(const SweepOptions& opt) {
  SweepConfig c = SweepConfig::load(opt.config);
  if (!fs::is_directory(opt.data_dir)) throw Error("not a folder of shards", opt.data_dir);
  const int vocab = data_vocab(opt.data_dir);
  auto grid = plan_grid(c, vocab);
  if (grid.empty()) throw Error("every point of the grid is under min_steps: raise the budgets", opt.config);
  if (!opt.only.empty()) {  // one point, as a child of a parallel sweep (or by hand); checked before the
                           // folder is made, so a wrong name leaves nothing behind
    std::vector<GridPoint> only;
    for (const auto& q : grid)
      if (q.name == opt.only || q.size.name == opt.only || q.size.family == opt.only) only.push_back(q);
    if (only.empty()) throw Error("no point or size named '" + opt.only + "' in the grid", opt.config);
    grid = only;
  }
  // The folder remembers its grid: a rerun with another sweep.json would mix two sweeps.
  const auto recorded = fs::path(opt.out_dir) / "sweep.json";
  if (fs::exists(recorded)) {
    auto was = json::parse(read_file(recorded.string()), nullptr, false);
    if (was != c.source)
      throw Error("this folder holds a sweep made with another sweep.json; use a new --out or the same config",
                  recorded.string());
  } else {
    fs::create_directories(opt.out_dir);
    write_file_atomic(recorded.string(), c.source.dump(2) + "\n");
  }
  if (!opt.quiet && c.train.schedule == "wsd") {
    const auto cost = grid_cost(grid);
    fmt::print(stderr, "sweep: WSD, shorter budgets branch off each size's longest run: {} steps in all, against {} "
                       "for a run per point ({:.0f}%)\n",
               cost.steps, cost.separate_steps, 100.0 * double(cost.steps) / double(cost.separate_steps));
  }
  if (opt.jobs > 1 && opt.only.empty()) return run_points_in_parallel(grid, opt);
  omp_set_num_threads(std::max(1, opt.threads));
  SweepResult res;
  res.total = int(grid.size());
  int64_t largest = 0, smallest = INT64_MAX;
  for (const auto& p : grid) largest = std::max(largest, p.N), smallest = std::min(smallest, p.N);
  if (!opt.quiet)
    fmt::print(stderr, "sweep: {} runs, {} sizes from {} to {} non-embedding parameters ({:.1f}x)\n", grid.size(),
               c.sizes.size(), smallest, largest, double(largest) / double(smallest));
  for (size_t i = 0; i < grid.size(); ++i) {
    const auto& p = grid[i];
    const std::string dir = (fs::path(opt.out_dir) / "runs" / p.name).string();
    const auto point = fs::path(dir) / "point.json";
    if (fs::exists(point)) {
      ++res.skipped;
      res.points.push_back(json::parse(read_file(point.string())));
      continue;
    }
    if (!opt.quiet)
      fmt::print(stderr, "[{}/{}] {}: N = {}, D = {}, {} steps\n", i + 1, grid.size(), p.name, p.N, p.tokens, p.steps);
    bool resumed = false;
    if (!run_point(p, c, opt, dir, resumed)) {
      res.interrupted = true;
      fmt::print(stderr, "sweep stopped in {}; run the same command again to resume\n", p.name);
      return res;
    }
    ++res.trained;
    res.resumed += resumed;
    res.points.push_back(json::parse(read_file(point.string())));
    if (!opt.quiet)
      fmt::print(stderr, "[{}/{}] {}: val loss {:.4f}\n", i + 1, grid.size(), p.name,
                 res.points.back()["val_loss"].get<double>());
  }
  return res;
}

std::vector<json> read_points(const std::string& out_dir) {
  std::vector<json> out;
  const auto runs = fs::path(out_dir) / "runs";
  if (!fs::is_directory(runs)) return out;
  for (const auto& e : fs::directory_iterator(runs)) {
    const auto f = e.path() / "point.json";
    if (!fs::exists(f)) continue;
    auto j = json::parse(read_file(f.string()), nullptr, false);
    if (j.is_discarded() || !j.contains("N") || !j.contains("D") || !j.contains("val_loss"))
      throw Error("not a sweep point (expected N, D and val_loss)", f.string());
    out.push_back(j);
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) {
    return std::make_pair(a["N"].get<double>(), a["D"].get<double>()) < std::make_pair(b["N"].get<double>(), b["D"].get<double>());
  });
  return out;
}

}  // namespace slm::scaling
