#pragma once
// Fitting scaling laws the way Hoffmann et al. (2022, "Chinchilla", appendix D.2) do:
//   L(N, D) = E + A / N^alpha + B / D^beta
// written as L = LSE(a - alpha log N, b - beta log D, e) with A = e^a, B = e^b, E = e^e,
// and fitted by minimising the Huber loss (delta 1e-3) of log L_pred - log L_observed over
// the runs, with L-BFGS from a grid of starting points (the loss has many local minima).
// Dropping a term gives the one-variable laws L(N) = E + A/N^alpha and L(D) = E + B/D^beta.
// Confidence intervals come from the bootstrap: resample the runs, refit, take percentiles.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace slm::scaling {

// One finished run: N non-embedding parameters, D training tokens, L final validation loss.
struct LossPoint {
  double N = 0, D = 0, L = 0;
};

// Which terms the law has.
enum class LawForm { joint, n_only, d_only };

struct LawFit {
  LawForm form = LawForm::joint;
  double E = 0, A = 0, alpha = 0, B = 0, beta = 0;  // unused terms are 0
  double objective = 0;                            // the summed Huber loss at the optimum
  double predict(double N, double D) const;
  nlohmann::json to_json() const;
};

struct FitOptions {
  double huber_delta = 1e-3;
  bool full_grid = true;  // Hoffmann's grid of starts; false: a coarse grid (bootstrap refits)
  int max_iters = 500;
};

// The best fit over the starting grid. Throws slm::Error when there are fewer points than
// the law has parameters.
LawFit fit_law(const std::vector<LossPoint>& pts, LawForm form, const FitOptions& opt = {});

// The Huber loss of log-space residuals and its gradient in (a, alpha, b, beta, e): what
// fit_law minimises (exposed for the gradient test).
double huber_objective(const std::vector<LossPoint>& pts, LawForm form, const double theta[5], double delta,
                       double grad[5]);

// A percentile interval [lo, hi] of each parameter over bootstrap refits.
struct Interval {
  double lo = 0, hi = 0;
};
struct BootstrapResult {
  Interval E, A, alpha, B, beta;
  int resamples = 0, failed = 0;  // failed: resamples with too few distinct points to fit
  nlohmann::json to_json() const;
};

// Resamples the points with replacement `resamples` times (seeded), refits from the
// central fit and a coarse grid, and returns the (1-level)/2 and (1+level)/2 percentiles.
BootstrapResult bootstrap_law(const std::vector<LossPoint>& pts, LawForm form, const LawFit& central, int resamples,
                              double level, uint64_t seed, const FitOptions& opt = {});

// The compute-optimal split of a budget of C FLOPs (C = 6 N D) under a joint law:
// N_opt = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta)), D = C/(6N).
struct Allocation {
  double C = 0, N = 0, D = 0, L = 0;
};
Allocation compute_optimal(const LawFit& f, double C);

}  // namespace slm::scaling
