// The scaling-law fit: it recovers a known law from noisy points, shrugs off an outlier
// (Huber), its bootstrap intervals hold the truth, its gradient matches finite
// differences, and the compute-optimal split is the IsoFLOP minimum.
#include <gtest/gtest.h>

#include <cmath>

#include "slm/scaling/fit.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::scaling {
namespace {

// Chinchilla's published law (Hoffmann et al. 2022).
const LawFit kTruth = [] {
  LawFit f;
  f.E = 1.69, f.A = 406.4, f.alpha = 0.34, f.B = 410.7, f.beta = 0.28;
  return f;
}();

// A grid of 6 sizes x 5 budgets, each loss multiplied by exp(noise * gaussian).
std::vector<LossPoint> synthetic(double noise, uint64_t seed) {
  Rng rng(seed);
  std::vector<LossPoint> pts;
  for (double N : {1e5, 3e5, 1e6, 3e6, 1e7, 3e7})
    for (double D : {1e7, 3e7, 1e8, 3e8, 1e9}) {
      double g = std::sqrt(-2 * std::log(1 - rng.uniform())) * std::cos(2 * M_PI * rng.uniform());
      pts.push_back({N, D, kTruth.predict(N, D) * std::exp(noise * g)});
    }
  return pts;
}

TEST(ScalingFit, RecoversAKnownLawFromNoisyPoints) {
  auto f = fit_law(synthetic(0.002, 1), LawForm::joint);
  EXPECT_NEAR(f.alpha, 0.34, 0.05);
  EXPECT_NEAR(f.beta, 0.28, 0.05);
  EXPECT_NEAR(f.E, 1.69, 0.1);
  // A and B trade off with the exponents; what matters is the law's predictions.
  for (const auto& p : synthetic(0, 2)) EXPECT_NEAR(f.predict(p.N, p.D) / p.L, 1.0, 0.01);
}

TEST(ScalingFit, ExactPointsGiveTheExactLaw) {
  auto f = fit_law(synthetic(0, 1), LawForm::joint);
  EXPECT_NEAR(f.alpha, 0.34, 0.01);
  EXPECT_NEAR(f.beta, 0.28, 0.01);
  EXPECT_NEAR(f.E, 1.69, 0.02);
  EXPECT_NEAR(std::log(f.A), std::log(406.4), 0.15);
  EXPECT_NEAR(std::log(f.B), std::log(410.7), 0.15);
}

TEST(ScalingFit, HuberIgnoresAnOutlierThatSquaresDoNot) {
  auto pts = synthetic(0, 3);
  pts[7].L *= 1.5;  // one diverged run
  auto huber = fit_law(pts, LawForm::joint);
  FitOptions squares;
  squares.huber_delta = 1e3;  // Huber with a huge delta is least squares
  auto ls = fit_law(pts, LawForm::joint, squares);
  EXPECT_NEAR(huber.alpha, 0.34, 0.02);
  EXPECT_NEAR(huber.beta, 0.28, 0.02);
  EXPECT_GT(std::abs(ls.alpha - 0.34) + std::abs(ls.beta - 0.28), 2 * (std::abs(huber.alpha - 0.34) + std::abs(huber.beta - 0.28)));
}

TEST(ScalingFit, OneVariableLaws) {
  std::vector<LossPoint> byN, byD;
  for (double N : {1e4, 1e5, 1e6, 1e7, 1e8}) byN.push_back({N, 1, 2.0 + 50 / std::pow(N, 0.3)});
  for (double D : {1e5, 1e6, 1e7, 1e8, 1e9}) byD.push_back({1, D, 1.5 + 80 / std::pow(D, 0.25)});
  auto fn = fit_law(byN, LawForm::n_only);
  auto fd = fit_law(byD, LawForm::d_only);
  EXPECT_NEAR(fn.alpha, 0.3, 0.01);
  EXPECT_NEAR(fn.E, 2.0, 0.02);
  EXPECT_EQ(fn.B, 0);
  EXPECT_NEAR(fd.beta, 0.25, 0.01);
  EXPECT_NEAR(fd.E, 1.5, 0.02);
  EXPECT_THROW(fit_law({byN[0], byN[1]}, LawForm::n_only), Error);
}

TEST(ScalingFit, BootstrapIntervalsHoldTheTruth) {
  auto pts = synthetic(0.003, 4);
  auto f = fit_law(pts, LawForm::joint);
  auto ci = bootstrap_law(pts, LawForm::joint, f, 40, 0.95, 7);
  EXPECT_GE(ci.resamples, 35);
  EXPECT_LE(ci.alpha.lo, 0.34);
  EXPECT_GE(ci.alpha.hi, 0.34);
  EXPECT_LE(ci.beta.lo, 0.28);
  EXPECT_GE(ci.beta.hi, 0.28);
  EXPECT_LE(ci.E.lo, 1.69);
  EXPECT_GE(ci.E.hi, 1.69);
  EXPECT_LT(ci.alpha.hi - ci.alpha.lo, 0.3);  // an interval, not the whole line
}

TEST(ScalingFit, GradientMatchesFiniteDifferences) {
  auto pts = synthetic(0.01, 5);
  for (double delta : {1e-3, 1.0}) {  // both Huber branches
    double t[5] = {5.5, 0.3, 6.1, 0.25, 0.4}, g[5], dummy[5];
    huber_objective(pts, LawForm::joint, t, delta, g);
    for (int k = 0; k < 5; ++k) {
      const double h = 1e-6;
      double tp[5], tm[5];
      std::copy(t, t + 5, tp), std::copy(t, t + 5, tm);
      tp[k] += h, tm[k] -= h;
      double num = (huber_objective(pts, LawForm::joint, tp, delta, dummy) - huber_objective(pts, LawForm::joint, tm, delta, dummy)) / (2 * h);
      EXPECT_NEAR(g[k], num, 1e-6 * std::max(1.0, std::abs(num))) << "parameter " << k << " delta " << delta;
    }
  }
}

TEST(ScalingFit, ComputeOptimalIsTheIsoFlopMinimum) {
  const double C = 1e21;
  auto a = compute_optimal(kTruth, C);
  EXPECT_NEAR(6 * a.N * a.D / C, 1.0, 1e-9);
  for (double f : {0.8, 1.25}) EXPECT_GT(kTruth.predict(a.N * f, C / (6 * a.N * f)), a.L);
  // Chinchilla's law puts about 20 tokens a parameter near this budget (reference figure).
  EXPECT_GT(a.D / a.N, 5);
  EXPECT_LT(a.D / a.N, 60);
}

}  // namespace
}  // namespace slm::scaling
