// The sweep and what it measures: the prefix-matching score on hand-built attention, the
// context tasks' form, the intervals, sweep.json's checks, and a tiny sweep end to end
// (interrupted, resumed without retraining finished points, fitted, reported).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "slm/scaling/analysis.h"
#include "slm/scaling/context_tasks.h"
#include "slm/scaling/emergence.h"
#include "slm/scaling/induction.h"
#include "slm/scaling/sweep.h"
#include "slm/train/train_checkpoint.h"
#include "slm/util/error.h"
#include "test_util.h"
#include "tiny_model.h"

namespace slm::scaling {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(Induction, PrefixMatchingIsOneForACopyingHeadAndNearZeroForUniform) {
  const int L = 32, offset = 1, T = offset + 2 * L;
  std::vector<float> copy(size_t(T) * T, 0.f), uniform(size_t(T) * T, 0.f), previous(size_t(T) * T, 0.f);
  for (int q = 0; q < T; ++q) {
    for (int k = 0; k <= q; ++k) uniform[size_t(q) * T + size_t(k)] = 1.f / float(q + 1);
    // The induction pattern: from the second copy's token i to the token after its first occurrence.
    const int k = q >= offset + L ? q - L + 1 : q;
    copy[size_t(q) * T + size_t(k)] = 1.f;
    previous[size_t(q) * T + size_t(std::max(0, q - 1))] = 1.f;  // a previous-token head: not induction
  }
  EXPECT_NEAR(prefix_matching_score(copy.data(), T, offset, L), 1.0, 1e-9);
  EXPECT_LT(prefix_matching_score(uniform.data(), T, offset, L), 0.03);
  EXPECT_NEAR(prefix_matching_score(previous.data(), T, offset, L), 0.0, 1e-9);
  EXPECT_THROW(prefix_matching_score(copy.data(), T, offset, L + 1), Error);
}

TEST(Induction, ScoresEveryHeadOfARealModel) {
  test::TinyModel tm(96);
  auto s = induction_score(*tm.m, 40, 3, int(tm.tok->eot()), 250, 1);
  ASSERT_EQ(s.per_head.size(), 2u);
  ASSERT_EQ(s.per_head[0].size(), 4u);
  for (const auto& l : s.per_head)
    for (double v : l) EXPECT_TRUE(v >= 0 && v <= 1 + 1e-6);
  EXPECT_EQ(s.best, s.per_head[size_t(s.layer)][size_t(s.head)]);
}

TEST(ContextTasks, TheAnswerIsInTheContextAndTheItemsAreWellFormed) {
  auto items = context_tasks(20, 5);
  ASSERT_EQ(items.size(), 60u);
  for (const auto& it : items) {
    ASSERT_EQ(it.choices.size(), 4u) << it.context;
    ASSERT_TRUE(it.label >= 0 && it.label < 4);
    const std::string answer = it.choices[size_t(it.label)].substr(1);
    EXPECT_NE(it.context.find(answer), std::string::npos) << it.task << ": " << it.context;
    for (size_t i = 0; i < 4; ++i)
      for (size_t j = i + 1; j < 4; ++j) EXPECT_NE(it.choices[i], it.choices[j]);
    if (it.task == "copy_name")  // the other names are not in the context: only reading back finds the answer
      for (size_t c = 0; c < 4; ++c)
        if (int(c) != it.label) {
          EXPECT_EQ(it.context.find(it.choices[c].substr(1) + " "), std::string::npos) << it.context;
        }
    EXPECT_LT(it.context.size(), 260u);  // eight shots and the query fit a 256-token context
  }
  EXPECT_EQ(context_tasks(20, 5)[7].context, items[7].context);  // the seed fixes them
  EXPECT_NE(context_tasks(20, 6)[7].context, items[7].context);
}

TEST(Emergence, WilsonAndNewcombeIntervals) {
  auto z = wilson(0, 10);
  EXPECT_NEAR(z.lo, 0.0, 1e-12);
  EXPECT_NEAR(z.hi, 0.2775, 1e-3);
  auto h = wilson(5, 10);
  EXPECT_NEAR(h.lo, 0.2366, 1e-3);
  EXPECT_NEAR(h.hi, 0.7634, 1e-3);
  // 30/40 against 10/40: clearly different; 21/40 against 19/40: not.
  EXPECT_GT(newcombe_difference(wilson(30, 40), wilson(10, 40)).lo, 0);
  EXPECT_LT(newcombe_difference(wilson(21, 40), wilson(19, 40)).lo, 0);
  std::vector<TaskScore> s;
  for (auto [k, c] : std::vector<std::pair<int, int>>{{0, 10}, {1, 12}, {3, 30}, {8, 35}}) {
    TaskScore t;
    t.task = "x", t.k = k, t.n = 40, t.chance = 0.25, t.acc = wilson(c, 40);
    s.push_back(t);
  }
  EXPECT_EQ(first_k_beating_zero(s, "x"), 3);
  EXPECT_FALSE(above_chance(s, "x", 0));
  EXPECT_TRUE(above_chance(s, "x", 8));
}

std::string write_config(const test::TempDir& dir, const json& j) {
  std::string p = dir / "sweep.json";
  test::spit(p, j.dump());
  return p;
}

json tiny_sweep() {
  return json::parse(R"({
    "model": {"context": 64, "n_heads": 2, "n_kv_heads": 2},
    "sizes": [{"name": "a", "dim": 16, "n_layers": 1, "hidden_dim": 32},
              {"name": "b", "dim": 32, "n_layers": 1, "hidden_dim": 64},
              {"name": "c", "dim": 32, "n_layers": 2, "hidden_dim": 64}],
    "tokens": [2048, 4096],
    "train": {"batch_size": 4, "lr": 3e-3, "min_lr": 3e-4, "log_every": 100},
    "min_steps": 4,
    "holdout": {"size": {"name": "big", "dim": 48, "n_layers": 2, "hidden_dim": 96}, "tokens": 4096},
    "eval": {"val_batches": 2, "items": 4, "ks": [0, 1], "builtin_tasks": false, "pairs": 6, "induction_windows": 2,
             "induction_length": 16}
  })");
}

template <class F>
void expect_error(F f, const std::string& needle) {
  try {
    f();
    FAIL() << "expected an error about " << needle;
  } catch (const Error& e) {
    EXPECT_NE(e.message().find(needle), std::string::npos) << e.message();
  }
}

void expect_refused(const json& j, const std::string& needle) {
  test::TempDir d;
  expect_error([&] { SweepConfig::load(write_config(d, j)); }, needle);
}

TEST(SweepConfig, BadFieldsAreRefusedNamingTheKey) {
  auto j = tiny_sweep();
  j["sizs"] = 1;
  expect_refused(j, "unknown field 'sweep.sizs'");
  j = tiny_sweep();
  j["sizes"][1]["dimm"] = 8;
  expect_refused(j, "dimm");
  j = tiny_sweep();
  j["flops"] = {1e9};
  expect_refused(j, "exactly one of 'tokens'");
  j = tiny_sweep();
  j["tokens"] = {-5};
  expect_refused(j, "'tokens'");
  j = tiny_sweep();
  j["eval"]["kz"] = {0};
  expect_refused(j, "did you mean 'eval.ks'");
  j = tiny_sweep();
  j["sizes"][2]["name"] = "a";
  expect_refused(j, "repeats 'a'");
  j = tiny_sweep();
  j["train"]["lr"] = "fast";
  expect_refused(j, "lr");
  j = tiny_sweep();
  j["holdout"]["size"]["n_layerz"] = 2;
  expect_refused(j, "n_layerz");
}

TEST(SweepConfig, IsoFlopBudgetsSizeEachRun) {
  auto j = tiny_sweep();
  j.erase("tokens");
  j["flops"] = {2e8};
  test::TempDir d;
  auto c = SweepConfig::load(write_config(d, j));
  auto grid = plan_grid(c, 300);
  ASSERT_FALSE(grid.empty());
  for (const auto& p : grid) {
    EXPECT_NEAR(6.0 * double(p.N) * p.tokens / 2e8, 1.0, 0.5);  // rounded up to whole steps of 256 tokens
    EXPECT_TRUE(p.abilities);                                   // one budget: each size's only run
  }
  GridPoint forty;
  forty.steps = 40;
  auto tc = point_train_config(c, forty);
  EXPECT_EQ(tc.max_steps, 40);  // the cosine ends at the run's own budget
  EXPECT_EQ(tc.warmup_steps, 2);
}

TEST(Sweep, RunsResumesWithoutRetrainingFitsAndReports) {
  test::TempDir d;
  const std::string shards = test::make_story_shards(d, 120, 300);
  SweepOptions o;
  o.config = write_config(d, tiny_sweep());
  o.data_dir = shards;
  o.out_dir = d / "sweep";
  o.quiet = true;
  o.stop_after = 3;  // the first run stops after 3 steps, as Ctrl-C would
  auto r1 = run_sweep(o);
  EXPECT_TRUE(r1.interrupted);
  EXPECT_EQ(r1.trained, 0);
  ASSERT_EQ(r1.total, 6);
  o.stop_after = -1;
  auto r2 = run_sweep(o);
  EXPECT_FALSE(r2.interrupted);
  EXPECT_EQ(r2.trained, 6);
  EXPECT_EQ(r2.resumed, 1);  // the interrupted run went on from its checkpoint
  // A finished point is not trained again: its files stay as they were.
  const auto point = fs::path(o.out_dir) / "runs" / "a-2.05k" / "point.json";
  ASSERT_TRUE(fs::exists(point)) << "runs: " << r2.points.size();
  const auto stamp = fs::last_write_time(point);
  auto r3 = run_sweep(o);
  EXPECT_EQ(r3.trained, 0);
  EXPECT_EQ(r3.skipped, 6);
  EXPECT_EQ(fs::last_write_time(point), stamp);
  for (const auto& p : r2.points) {
    EXPECT_GT(p["val_loss"].get<double>(), 0);
    EXPECT_TRUE(p.contains("induction"));
  }
  // Any model folder, measured the same way.
  EvalSpec spec;
  spec.items = 2, spec.ks = {0, 1}, spec.builtin_tasks = false, spec.induction_windows = 1, spec.induction_length = 8;
  spec.pairs = 4;
  auto ab = model_abilities((fs::path(o.out_dir) / "runs" / "a-2.05k" / "model").string(), spec, 1, true);
  EXPECT_EQ(ab["abilities"].size(), 10u);  // 3 tasks x 2 K, and 4 grammar tasks at K = 0
  EXPECT_EQ(ab["abilities"].back()["n"].get<int>(), 4);
  EXPECT_TRUE(ab["induction"].contains("score"));
  // Another config in the same folder is refused.
  auto other = tiny_sweep();
  other["tokens"] = {1024};
  test::TempDir d2;
  o.config = write_config(d2, other);
  EXPECT_THROW(run_sweep(o), Error);
  // The fit and the report.
  AnalysisOptions ao;
  ao.dir = o.out_dir;
  ao.bootstrap = 5;
  auto fit = analyze_sweep(ao);
  EXPECT_EQ(fit["points"].get<int>(), 6);
  EXPECT_TRUE(fit["joint"].contains("alpha"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "report.html"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "plots" / "loss_vs_params.svg"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "plots" / "induction.svg"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "plots" / "acc_vs_k_copy_name.svg"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "plots" / "minimal_pairs.svg"));
  EXPECT_TRUE(fs::exists(fs::path(o.out_dir) / "plots" / "acc_vs_size_agreement.svg"));
  EXPECT_FALSE(fs::exists(fs::path(o.out_dir) / "plots" / "acc_vs_k_agreement.svg"));  // zero-shot only
  if (fs::exists("/usr/bin/rsvg-convert")) {  // every chart has its PNG (plot_png.h; the renderer's own test checks size)
    for (const auto& e : fs::directory_iterator(fs::path(o.out_dir) / "plots"))
      if (e.path().extension() == ".svg") {
        EXPECT_TRUE(fs::exists(fs::path(e.path()).replace_extension(".png"))) << e.path();
      }
  }
  const std::string html = test::slurp(fs::path(o.out_dir) / "report.html");
  EXPECT_NE(html.find("copy_name"), std::string::npos);
  EXPECT_NE(html.find("alpha"), std::string::npos);
  // The held-out model: trained after the fit, compared with the prediction.
  o.config.clear();  // the sweep folder's own sweep.json
  auto h = run_holdout(o);
  ASSERT_TRUE(h.is_object());
  EXPECT_GT(h["predicted"].get<double>(), 0);
  EXPECT_GT(h["observed"].get<double>(), 0);
  EXPECT_NE(test::slurp(fs::path(o.out_dir) / "report.html").find("Held-out"), std::string::npos);
  // The minimal pairs again on every measured model (each size's largest budget and the held-out one).
  EXPECT_EQ(measure_sweep_minimal_pairs(o.out_dir, 8, 1, true), 4);
  auto pt = json::parse(test::slurp(fs::path(o.out_dir) / "holdout" / "big" / "point.json"));
  int grammar = 0;
  for (const auto& t : pt["abilities"])
    if (t["task"] == "agreement") {
      ++grammar;
      EXPECT_EQ(t["n"].get<int>(), 8);
    }
  EXPECT_EQ(grammar, 1);  // replaced, not added twice
  EXPECT_NE(test::slurp(fs::path(o.out_dir) / "report.html").find("Zero-shot grammar"), std::string::npos);
  // A second held-out model tests the same fit: another config that changes only "holdout".
  EXPECT_TRUE(h.contains("predicted_n_only"));  // its budget is the one L(N) was fitted at
  auto second = tiny_sweep();
  second["holdout"]["size"] = {{"name", "big2"}, {"dim", 48}, {"n_layers", 3}, {"hidden_dim", 96}};
  second["description"] = "a second held-out model";
  test::TempDir d3;
  o.config = write_config(d3, second);
  auto h2 = run_holdout(o);
  ASSERT_TRUE(h2.is_object());
  EXPECT_EQ(h2["name"], "big2");
  EXPECT_GT(h2["N"].get<int64_t>(), h["N"].get<int64_t>());
  const auto all = read_holdouts(o.out_dir);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["name"], "big");  // sorted by N; the first one's result is kept
  EXPECT_EQ(all[0]["observed"], h["observed"]);
  const std::string html2 = test::slurp(fs::path(o.out_dir) / "report.html");
  EXPECT_NE(html2.find("big2 (N = "), std::string::npos);
  EXPECT_NE(html2.find("big (N = "), std::string::npos);
  // The same name with another size is refused: its folder holds the first one's model.
  second["holdout"]["size"]["dim"] = 64;
  o.config = write_config(d3, second);
  expect_error([&] { run_holdout(o); }, "holds a held-out run with another model");
  // One that changes the grid is refused before anything is trained.
  second["holdout"]["size"]["name"] = "big3";
  second["tokens"] = {1024};
  o.config = write_config(d3, second);
  expect_error([&] { run_holdout(o); }, "config's 'tokens' differ from the sweep folder's");
  EXPECT_FALSE(fs::exists(fs::path(o.out_dir) / "holdout" / "big3"));
}

// Runs shorter than --min-steps are left out of every fit: points far off the law (as
// optimisation transients are) no longer pull it, and fit.json names them.
TEST(ScalingFit, MinStepsLeavesShortRunsOutOfTheFit) {
  test::TempDir d;
  const double E = 1.5, A = 40, alpha = 0.4, B = 900, beta = 0.5;
  int k = 0;
  for (double N : {1e4, 3e4, 1e5, 3e5, 1e6})
    for (double D : {2e5, 4e5, 8e5, 1.6e6}) {
      const int64_t steps = int64_t(D / 512);
      double L = E + A / std::pow(N, alpha) + B / std::pow(D, beta);
      if (steps < 500) L *= 1.0 + 0.08 * std::sin(double(++k));  // transient: off the law, either way
      const std::string name = "n" + std::to_string(int64_t(N)) + "-d" + std::to_string(int64_t(D));
      fs::create_directories(d.path() / "runs" / name);
      test::spit((d.path() / "runs" / name / "point.json").string(),
                 json({{"name", name}, {"N", N}, {"D", D}, {"steps", steps}, {"val_loss", L}}).dump());
    }
  AnalysisOptions ao;
  ao.dir = d.path().string();
  ao.bootstrap = 0;
  ao.min_steps = 500;
  auto fit = analyze_sweep(ao);
  EXPECT_EQ(fit["points"].get<int>(), 15);
  EXPECT_EQ(fit["left_out"].size(), 5u);
  EXPECT_EQ(fit["min_steps"].get<int64_t>(), 500);
  EXPECT_NEAR(fit["joint"]["alpha"].get<double>(), alpha, 0.02);
  EXPECT_NEAR(fit["joint"]["beta"].get<double>(), beta, 0.02);
  EXPECT_NE(fit_summary(fit).find("left out (under 500 optimizer steps): n10000-d200000"), std::string::npos);
  EXPECT_NE(test::slurp(d / "report.html").find("(left out of the fit)"), std::string::npos);
  ao.min_steps = 0;  // every point: the transients pull the law off
  auto all = analyze_sweep(ao);
  EXPECT_EQ(all["points"].get<int>(), 20);
  EXPECT_GT(std::abs(all["joint"]["alpha"].get<double>() - alpha) + std::abs(all["joint"]["beta"].get<double>() - beta),
            0.02);
  ao.min_steps = 1 << 20;
  EXPECT_THROW(analyze_sweep(ao), Error);
}

TEST(Sweep, TwoJobsTrainTheSamePointsAsOne) {
  test::TempDir d;
  const std::string shards = test::make_story_shards(d, 120, 300);
  auto j = tiny_sweep();
  j["eval"] = {{"val_batches", 2}, {"items", 0}, {"pairs", 0}, {"induction_windows", 0}};  // the losses are the point
  SweepOptions o;
  o.config = write_config(d, j);
  o.data_dir = shards;
  o.quiet = true;
  o.out_dir = d / "one";
  o.threads = 1;
  auto one = run_sweep(o);
  o.out_dir = d / "two";
  o.threads = 2, o.jobs = 2, o.exe = SLM_CLI;  // two processes of one thread each
  auto two = run_sweep(o);
  EXPECT_FALSE(two.interrupted);
  EXPECT_EQ(two.trained, 6);
  auto a = loss_points(read_points(d / "one")), b = loss_points(read_points(d / "two"));
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].N, b[i].N);
    EXPECT_EQ(a[i].D, b[i].D);
    EXPECT_EQ(a[i].L, b[i].L) << "point " << i;  // same seeds, same data order, one thread each: the same loss
  }
  EXPECT_TRUE(fs::exists(fs::path(d / "two") / "logs"));
  // A rerun finds everything done; a point that is not in the grid is refused.
  EXPECT_EQ(run_sweep(o).skipped, 6);
  o.only = "zzz";
  EXPECT_THROW(run_sweep(o), Error);
}

json wsd_sweep(std::vector<double> tokens) {
  auto j = tiny_sweep();
  j["tokens"] = tokens;
  j["train"]["schedule"] = "wsd";
  j["eval"] = {{"val_batches", 2}, {"items", 0}, {"pairs", 0}, {"induction_windows", 0}};  // the losses are the point
  return j;
}

TEST(Sweep, WsdPlansOneRunPerSizeWithCheapDecaysOffIt) {
  test::TempDir d;
  auto c = SweepConfig::load(write_config(d, wsd_sweep({2048, 4096, 8192})));
  auto grid = plan_grid(c, 300);  // 256 tokens a step: 8, 16 and 32 steps
  ASSERT_EQ(grid.size(), 9u);
  for (const auto& p : grid) {
    EXPECT_EQ(p.warmup_steps, 1) << p.name;  // 5% of the size's shortest budget, for all three
    EXPECT_EQ(p.branches.size(), 2u);
    if (p.steps == 32) {
      EXPECT_EQ(p.trunk, p.name);
      EXPECT_EQ(p.branch_step, 0);
      EXPECT_TRUE(p.abilities);
    } else {
      EXPECT_EQ(p.trunk, p.size.name + "-8.19k");
      EXPECT_EQ(p.trunk_steps, 32);
      EXPECT_EQ(p.branch_step, p.steps == 8 ? 6 : 13);  // its decay: the last 20% (2 and 3 steps)
    }
  }
  const auto cost = grid_cost(grid);
  EXPECT_EQ(cost.separate_steps, 3 * 56);
  EXPECT_EQ(cost.steps, 3 * (32 + 2 + 3));
}

// A budget that branches off the trunk is exactly the WSD run of that budget on its own:
// the same warm-up, lr and batches up to its decay, then the same decay from the copied
// checkpoint. Sweep A (three budgets) trains 4096 as a branch of 8192; sweep B (two) trains
// it as its size's own run: the same losses, bit for bit. Interrupted inside the trunk, A
// resumes; two jobs (a size each) train what one does.
TEST(Sweep, WsdBranchesEqualTheirOwnRunsAndResume) {
  test::TempDir d;
  const std::string shards = test::make_story_shards(d, 120, 300);
  SweepOptions o;
  o.data_dir = shards;
  o.quiet = true;
  o.threads = 1;
  o.config = write_config(d, wsd_sweep({2048, 4096, 8192}));
  o.out_dir = d / "a";
  o.stop_after = 3;  // the first trunk segment (to step 6) stops at step 3
  auto r1 = run_sweep(o);
  EXPECT_TRUE(r1.interrupted);
  EXPECT_EQ(r1.trained, 0);
  o.stop_after = -1;
  auto r2 = run_sweep(o);
  EXPECT_FALSE(r2.interrupted);
  EXPECT_EQ(r2.trained, 9);
  EXPECT_EQ(r2.resumed, 1);  // the trunk stopped at step 3; the branches' copied checkpoints are no resume
  auto branch = json::parse(test::slurp(fs::path(o.out_dir) / "runs" / "a-4.1k" / "point.json"));
  EXPECT_EQ(branch["branch"]["trunk"], "a-8.19k");
  EXPECT_EQ(branch["branch"]["step"].get<int>(), 13);
  EXPECT_EQ(branch["schedule"], "wsd");

  test::TempDir d2;
  o.config = write_config(d2, wsd_sweep({2048, 4096}));
  o.out_dir = d / "b";
  auto rb = run_sweep(o);
  EXPECT_EQ(rb.trained, 6);
  auto own = json::parse(test::slurp(fs::path(o.out_dir) / "runs" / "a-4.1k" / "point.json"));
  EXPECT_FALSE(own.contains("branch"));  // here it is the size's longest run
  for (const char* size : {"a", "b", "c"})
    for (const char* budget : {"2.05k", "4.1k"}) {
      const std::string name = std::string(size) + "-" + budget;
      auto pa = json::parse(test::slurp(fs::path(d / "a") / "runs" / name / "point.json"));
      auto pb = json::parse(test::slurp(fs::path(d / "b") / "runs" / name / "point.json"));
      EXPECT_EQ(pa["val_loss"].get<double>(), pb["val_loss"].get<double>()) << name;
    }

  // Any order: the trunk trained first (--only) leaves its branches their checkpoints on the way.
  o.config = write_config(d, wsd_sweep({2048, 4096, 8192}));
  o.out_dir = d / "trunk_first";
  o.only = "a-8.19k";
  EXPECT_EQ(run_sweep(o).trained, 1);
  EXPECT_FALSE(train::list_checkpoints((fs::path(o.out_dir) / "runs" / "a-2.05k").string()).empty());
  o.only = "b-4.1k";  // a longer branch before a shorter one
  EXPECT_EQ(run_sweep(o).trained, 1);
  o.only.clear();
  auto rest = run_sweep(o);
  EXPECT_EQ(rest.trained, 7);
  EXPECT_EQ(rest.resumed, 0);
  for (const char* name : {"a-2.05k", "a-4.1k", "a-8.19k", "b-2.05k", "b-4.1k"}) {
    auto pa = json::parse(test::slurp(fs::path(d / "a") / "runs" / name / "point.json"));
    auto pt = json::parse(test::slurp(fs::path(o.out_dir) / "runs" / name / "point.json"));
    EXPECT_EQ(pa["val_loss"].get<double>(), pt["val_loss"].get<double>()) << name;
  }

  o.out_dir = d / "two";
  o.threads = 2, o.jobs = 2, o.exe = SLM_CLI;  // a size a process, one thread each
  auto two = run_sweep(o);
  EXPECT_FALSE(two.interrupted);
  EXPECT_EQ(two.trained, 9);
  auto a = loss_points(read_points(d / "a")), b = loss_points(read_points(d / "two"));
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].L, b[i].L) << "point " << i;
}

// "lrs": every size trains at each learning rate, as its own variant (min_lr keeps its ratio).
TEST(SweepConfig, LearningRatesExpandEachSize) {
  auto j = tiny_sweep();
  j["lrs"] = {1e-3, 4e-3};
  j["sizes"][2]["lr"] = 2e-3;  // its own rate: not expanded
  test::TempDir d;
  auto c = SweepConfig::load(write_config(d, j));
  ASSERT_EQ(c.sizes.size(), 5u);
  EXPECT_EQ(c.sizes[0].name, "a-lr0.001");
  EXPECT_EQ(c.sizes[1].name, "a-lr0.004");
  EXPECT_EQ(c.sizes[0].family, "a");
  EXPECT_EQ(c.sizes[4].name, "c");
  auto grid = plan_grid(c, 64);
  for (const auto& p : grid) {
    auto tc = point_train_config(c, p);
    const double want = p.size.name == "c" ? 2e-3 : p.size.name.find("lr0.001") != std::string::npos ? 1e-3 : 4e-3;
    EXPECT_DOUBLE_EQ(tc.lr, want) << p.name;
    EXPECT_NEAR(tc.min_lr / tc.lr, 3e-4 / 3e-3, 1e-12) << p.name;
  }
  j["lrs"] = {1e-3, 1e-3};
  expect_refused(j, "repeats");
  j = tiny_sweep();
  j["lrs"] = {2.0};
  expect_refused(j, "(0, 1]");
  j = tiny_sweep();
  j["sizes"][0]["lr"] = -1;
  expect_refused(j, "sizes[0].lr");
}

// The fit takes the best learning rate at each (N, D), and the rule for the best rate
// recovers a known power law in N from three rates a size.
TEST(ScalingFit, BestLearningRatePerSizeAndItsRule) {
  std::vector<json> pts;
  for (double N : {1e4, 1e5, 1e6}) {
    const double best = 0.01 * std::pow(N, -0.25);
    for (double D : {1e5, 1e6})
      for (double lr : {best / 2.5, best * 1.2, best * 3.0}) {
        const double x = std::log(lr / best);
        pts.push_back({{"name", "n"}, {"size", "s" + std::to_string(int(N))}, {"N", N}, {"D", D}, {"lr", lr},
                       {"val_loss", 2.0 + 10 / std::pow(N, 0.3) + 0.1 * x * x}});
      }
  }
  auto lp = loss_points(pts);
  ASSERT_EQ(lp.size(), 6u);  // one a (N, D)
  for (const auto& p : lp) {
    const double x = std::log(1.2);
    EXPECT_NEAR(p.L, 2.0 + 10 / std::pow(p.N, 0.3) + 0.1 * x * x, 1e-12);  // the best rate tried
  }
  auto rule = fit_lr_rule(pts);
  ASSERT_FALSE(rule.is_null());
  EXPECT_NEAR(rule["b"].get<double>(), -0.25, 1e-6);
  EXPECT_NEAR(lr_from_rule(rule, 1e7), 0.01 * std::pow(1e7, -0.25), 1e-9);
  for (const auto& z : rule["sizes"]) EXPECT_FALSE(z["at_edge"].get<bool>());
  // Only each size's largest budget counts: another budget's best rate is elsewhere.
  auto shifted = pts;
  for (auto& p : shifted)
    if (p["D"].get<double>() < 5e5) p["val_loss"] = p["val_loss"].get<double>() - 5 * std::log(p["lr"].get<double>());
  EXPECT_NEAR(fit_lr_rule(shifted)["b"].get<double>(), -0.25, 1e-6);
  // The best rate at the edge of those tried is said so.
  std::vector<json> edge;
  for (const auto& p : pts)
    if (p["lr"].get<double>() < 0.01 * std::pow(p["N"].get<double>(), -0.25)) edge.push_back(p);
  for (const auto& p : pts)
    if (p["lr"].get<double>() > 2 * 0.01 * std::pow(p["N"].get<double>(), -0.25)) edge.push_back(p);
  auto edge_rule = fit_lr_rule(edge);
  for (const auto& z : edge_rule["sizes"]) EXPECT_TRUE(z["at_edge"].get<bool>());
  EXPECT_FALSE(edge_rule.contains("a"));  // no size's best rate is bracketed: no rule
  // A size at the edge is left out of the rule; the others still give it.
  auto mixed = pts;
  for (auto& p : mixed)
    if (p["N"].get<double>() == 1e4) p["val_loss"] = 3.0 - p["lr"].get<double>();  // best at the highest rate
  auto mixed_rule = fit_lr_rule(mixed);
  EXPECT_EQ(mixed_rule["fitted_on"].get<int>(), 2);
  EXPECT_NEAR(mixed_rule["b"].get<double>(), -0.25, 1e-6);
  // One rate a size: no rule.
  std::vector<json> one;
  for (const auto& p : pts)
    if (p["lr"].get<double>() == 0.01 * std::pow(p["N"].get<double>(), -0.25) * 1.2) one.push_back(p);
  EXPECT_TRUE(fit_lr_rule(one).is_null());
}

}  // namespace
}  // namespace slm::scaling
