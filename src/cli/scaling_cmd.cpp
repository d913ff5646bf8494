// slm scaling sweep / fit / holdout: scaling laws and emergent abilities (docs/scaling.md).
#include <fmt/format.h>

#include <omp.h>

#include <memory>

#include "cli/common.h"
#include "slm/scaling/analysis.h"
#include "slm/scaling/sweep.h"
#include "slm/scaling/emergence.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

// What sweep and holdout share: the run options and the common flags that fill them.
struct SweepArgs {
  Common common;
  scaling::SweepOptions o;
  void take_common() {
    o.threads = common.resolved_threads();
    o.quiet = common.quiet;
    o.seed = common.seed;
  }
};

void add_sweep(CLI::App* parent) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = parent->add_subcommand("sweep", "Train a grid of model sizes and token budgets, each an ordinary "
                                              "resumable run folder, and measure each model");
  cmd->add_option("--config", a->o.config, "sweep.json: sizes, token or FLOP budgets, train section, held-out model")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--data", a->o.data_dir, "shards from slm data pack (train_*.bin, val_*.bin, tokenizer.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a->o.out_dir, "the sweep folder (runs/NAME/ per point); run again to resume")->required();
  cmd->add_option("--stop-after", a->o.stop_after, "stop the first run trained after this many steps, as Ctrl-C does")
      ->check(in_range(1, kMaxCount));
  cmd->add_option("--jobs", a->o.jobs, "points trained at once, each by its own process on threads / jobs cores")
      ->capture_default_str()
      ->check(in_range(1, 256));
  cmd->add_option("--only", a->o.only, "train just this point of the grid, or every point of this size (what each --jobs process is asked)");
  add_common(cmd, a->common);
  cmd->footer(
      "Each point trains with warm-up and a cosine decay that ends at its own budget; with\n"
      "\"train\": {\"schedule\": \"wsd\"} each size trains its longest budget once and the shorter\n"
      "ones branch off it where their own decay starts. A rerun skips finished points\n"
      "(runs/NAME/point.json), resumes an interrupted one from its last checkpoint, and refuses a\n"
      "folder made with another sweep.json. With --jobs N, N points (WSD: sizes) train at once\n"
      "(OUT/logs/NAME.log holds each one's output).\n\n"
      "Example:\n"
      "  slm scaling sweep --config configs/scaling/small.json --data runs/q/shards --out runs/scaling --threads 2\n"
      "  slm scaling fit runs/scaling          (then open runs/scaling/report.html)\n"
      "  slm scaling holdout runs/scaling --data runs/q/shards");
  cmd->callback([a] {
    a->take_common();
    auto r = scaling::run_sweep(a->o);
    fmt::print("{}: {} of {} points trained here ({} resumed), {} already done{}\n", a->o.out_dir, r.trained, r.total,
               r.resumed, r.skipped, r.interrupted ? "; interrupted: run the same command to resume" : "");
    if (r.interrupted) throw Error("the sweep was interrupted", a->o.out_dir);
  });
}

void add_fit(CLI::App* parent) {
  struct Args {
    Common common;
    scaling::AnalysisOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("fit", "Fit L(N), L(D) and L(N, D) = E + A/N^alpha + B/D^beta to a sweep "
                                            "(Huber on log loss, bootstrap intervals) and write report.html");
  cmd->add_option("dir", a->o.dir, "a folder from slm scaling sweep")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--budget", a->o.budgets, "FLOPs to give the compute-optimal N and D for (repeatable)")
      ->check(in_range(1, 1e30));
  cmd->add_option("--bootstrap", a->o.bootstrap, "bootstrap resamples of the runs (0: no intervals)")
      ->capture_default_str()
      ->check(in_range(0, 100000));
  cmd->add_option("--level", a->o.level, "the intervals' confidence level")->capture_default_str()->check(in_range(0.5, 0.999));
  cmd->add_option("--min-steps", a->o.min_steps, "leave runs of fewer optimizer steps out of every fit (their loss is "
                                                  "mostly optimisation transient); fit.json names them")
      ->capture_default_str()
      ->check(in_range(0, kMaxCount));
  add_common(cmd, a->common);
  cmd->callback([a] {
    a->o.seed = a->common.seed;
    auto fit = scaling::analyze_sweep(a->o);
    fmt::print("{}{}/report.html\n", scaling::fit_summary(fit), a->o.dir);
  });
}

void add_holdout(CLI::App* parent) {
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = parent->add_subcommand("holdout", "Train the sweep's larger held-out model after the fit and compare "
                                                "its loss with the law's prediction");
  cmd->add_option("dir", a->o.out_dir, "a folder from slm scaling sweep, already fitted")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--data", a->o.data_dir, "the sweep's shards")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--config", a->o.config, "a sweep.json naming another held-out model (default: the folder's own); "
                                            "its grid must be the folder's")
      ->check(CLI::ExistingFile);
  add_common(cmd, a->common);
  cmd->footer(
      "The prediction is read from fit.json, so fit first. Each held-out model keeps its result in\n"
      "DIR/holdout/NAME/result.json; the report lists them all. Example, a second test of one fit:\n"
      "  slm scaling holdout runs/scaling-wsd --data runs/q/shards --config configs/scaling/law_wsd_d224.json");
  cmd->callback([a] {
    a->take_common();
    auto h = scaling::run_holdout(a->o);
    if (h.is_null()) throw Error("the held-out run was interrupted; run the same command to resume", a->o.out_dir);
    fmt::print("{} (N = {}, D = {:.3g}): joint law predicted loss {:.4f}, observed {:.4f}, error {:+.2f}%\n",
               h["name"].get<std::string>(), h["N"].get<int64_t>(), h["D"].get<double>(), h["predicted"].get<double>(),
               h["observed"].get<double>(), 100 * h["relative_error"].get<double>());
    if (h.contains("predicted_n_only"))
      fmt::print("L(N) at this budget predicted {:.4f}, error {:+.2f}%\n", h["predicted_n_only"].get<double>(),
                 100 * h["n_only_relative_error"].get<double>());
  });
}

void add_abilities(CLI::App* parent) {
  struct Args {
    Common common;
    std::string model, sweep, out;
    scaling::EvalSpec spec;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("abilities", "The sweep's few-shot tasks and zero-shot minimal pairs (with 95% "
                                                  "intervals) and induction-head score on any model folder");
  auto* model = cmd->add_option("--model", a->model, "a model folder")->check(CLI::ExistingDirectory);
  auto* sweep = cmd->add_option("--sweep", a->sweep, "a sweep folder: measure the minimal pairs on every measured model "
                                                     "of it (no retraining) and write its report again")
                    ->check(CLI::ExistingDirectory)
                    ->excludes(model);
  cmd->add_option("--items", a->spec.items, "items of each few-shot task")->capture_default_str()->check(in_range(1, 100000));
  cmd->add_option("--k", a->spec.ks, "shot counts")->capture_default_str()->check(in_range(0, 64));
  cmd->add_option("--pairs", a->spec.pairs, "minimal pairs of each grammar task (0: none)")
      ->capture_default_str()
      ->check(in_range(0, 100000));
  cmd->add_option("--out", a->out, "write the results as JSON here (default: print only)")->excludes(sweep);
  add_common(cmd, a->common);
  cmd->footer(
      "Examples:\n"
      "  slm scaling abilities --model runs/quickstart/pretrain/model --items 40\n"
      "  slm scaling abilities --sweep runs/scaling --pairs 200   (then open runs/scaling/report.html)");
  cmd->callback([a] {
    omp_set_num_threads(a->common.resolved_threads());
    if (!a->sweep.empty()) {
      int n = scaling::measure_sweep_minimal_pairs(a->sweep, a->spec.pairs, a->common.seed, a->common.quiet);
      fmt::print("{}: minimal pairs measured on {} models; {}/report.html\n", a->sweep, n, a->sweep);
      return;
    }
    if (a->model.empty()) throw Error("give --model (a model folder) or --sweep (a sweep folder)");
    auto r = scaling::model_abilities(a->model, a->spec, a->common.seed, a->common.quiet);
    for (const auto& t : r["abilities"])
      fmt::print("{:17} K={:<2} acc {:.3f} [{:.3f}, {:.3f}] (chance {:.2f}, n {})\n", t["task"].get<std::string>(),
                 t["k"].get<int>(), t["acc"].get<double>(), t["lo"].get<double>(), t["hi"].get<double>(),
                 t["chance"].get<double>(), t["n"].get<int>());
    if (r.contains("induction"))
      fmt::print("induction: best head L{}H{} prefix-matching score {:.3f}\n", r["induction"]["layer"].get<int>(),
                 r["induction"]["head"].get<int>(), r["induction"]["score"].get<double>());
    if (!a->out.empty()) write_file_atomic(a->out, r.dump(1) + "\n");
  });
}

}  // namespace

void add_scaling_commands(CLI::App& app) {
  auto* sc = app.add_subcommand("scaling", "Scaling laws and emergent abilities (docs/scaling.md)");
  sc->require_subcommand(1);
  add_sweep(sc);
  add_fit(sc);
  add_holdout(sc);
  add_abilities(sc);
}

}  // namespace slm::cli
