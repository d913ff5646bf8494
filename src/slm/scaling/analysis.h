#pragma once
// `slm scaling fit DIR`: the laws fitted to a sweep's points, their bootstrap intervals,
// the compute-optimal split of given budgets, and the report: DIR/fit.json,
// DIR/report.html (inline SVG) and each chart as DIR/plots/NAME.svg.
//   joint:  L(N, D) = E + A/N^alpha + B/D^beta on every point
//   L(N):   E + A/N^alpha on the best-trained point of each size (its largest D)
//   L(D):   E + B/D^beta on the envelope: the lowest loss at each D over the sizes
// `slm scaling holdout DIR` trains the sweep's larger held-out model and compares its loss
// with the joint law's prediction (DIR/holdout.json; the report shows it).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/scaling/fit.h"
#include "slm/scaling/sweep.h"

namespace slm::scaling {

struct AnalysisOptions {
  std::string dir;
  std::vector<double> budgets;  // FLOPs to print the compute-optimal N and D for; empty: the sweep's range
  int bootstrap = 200;
  double level = 0.95;
  uint64_t seed = 1;
  // Runs of fewer optimizer steps are left out of every fit (fit.json names them): their
  // loss is still mostly optimisation transient, which a law of N and D cannot describe.
  int64_t min_steps = 0;
};

// The points as the fit reads them: the best run at each (N, D) when there are several
// learning rates.
std::vector<LossPoint> loss_points(const std::vector<nlohmann::json>& points);
// With several learning rates a size (sweep.json's "lrs"): the best one of each size at its
// largest budget (the vertex of a parabola in log lr through the best rate tried and its
// neighbours; the best rate itself when it is the lowest or highest tried, "at_edge"), and
// the rule log lr* = a + b log N fitted by least squares to the sizes not at an edge:
// {"a", "b", "fitted_on", "sizes": [{N, lr, at_edge, ...}]} (no "a" and "b" with fewer than
// two such sizes), or null when no size was tried at two rates. `slm scaling holdout`
// trains a held-out model without its own "lr" at the rule's rate for its N.
nlohmann::json fit_lr_rule(const std::vector<nlohmann::json>& points);
double lr_from_rule(const nlohmann::json& rule, double N);

// The best-trained point of each size (L(N)) and the envelope over sizes at each D (L(D)).
std::vector<LossPoint> per_size_best(const std::vector<LossPoint>& pts);
std::vector<LossPoint> envelope_by_tokens(const std::vector<LossPoint>& pts);

// Fits, writes fit.json and the report; returns fit.json's content.
nlohmann::json analyze_sweep(const AnalysisOptions& opt);

// A readable summary of fit.json (what `slm scaling fit` prints).
std::string fit_summary(const nlohmann::json& fit);

// Trains the held-out model of the sweep's config (opt.config, default DIR/sweep.json) into
// DIR/holdout/NAME, compares its loss with fit.json's joint law (and with the L(N) law when
// the held-out budget is the one L(N) was fitted at), writes DIR/holdout/NAME/result.json,
// DIR/holdout.json (the latest) and the report again. Another config may name another
// held-out model (a second test of the same fit) but must have the folder's grid: every
// field but "holdout" and "description" equal to DIR/sweep.json's.
// Returns the result, or null when the run was interrupted.
nlohmann::json run_holdout(const SweepOptions& opt);

// Every held-out result of DIR (holdout/*/result.json; an older folder's single
// holdout.json), sorted by N.
std::vector<nlohmann::json> read_holdouts(const std::string& dir);

// Measures the zero-shot minimal pairs (minimal_pairs.h, `pairs` of each task) on every
// model of the sweep that has its abilities measured (each size's largest budget, and the
// held-out model), puts them into its point.json (replacing earlier ones) and writes the
// report again: the grammar tasks need no retraining. Returns the models measured.
int measure_sweep_minimal_pairs(const std::string& dir, int pairs, uint64_t seed, bool quiet);

// report.html and plots/*.svg (and a PNG copy of each, plot_png.h) from what DIR holds (points, fit.json, holdout.json).
std::string write_scaling_report(const std::string& dir);

}  // namespace slm::scaling
