#include "slm/scaling/fit.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::scaling {

using nlohmann::json;

namespace {

// theta = (a, alpha, b, beta, e): log A, the N exponent, log B, the D exponent, log E.
using Theta = std::array<double, 5>;

bool has_n(LawForm f) { return f != LawForm::d_only; }
bool has_d(LawForm f) { return f != LawForm::n_only; }

int n_params(LawForm f) { return 1 + 2 * int(has_n(f)) + 2 * int(has_d(f)); }

double huber(double r, double delta) {
  double a = std::abs(r);
  return a <= delta ? 0.5 * r * r : delta * (a - 0.5 * delta);
}
double huber_slope(double r, double delta) { return std::abs(r) <= delta ? r : (r > 0 ? delta : -delta); }

LawFit to_fit(const Theta& t, LawForm form, double objective) {
  LawFit f;
  f.form = form;
  f.E = std::exp(t[4]);
  if (has_n(form)) f.A = std::exp(t[0]), f.alpha = t[1];
  if (has_d(form)) f.B = std::exp(t[2]), f.beta = t[3];
  f.objective = objective;
  return f;
}

Theta to_theta(const LawFit& f) {
  return {f.A > 0 ? std::log(f.A) : 0, f.alpha, f.B > 0 ? std::log(f.B) : 0, f.beta, std::log(std::max(f.E, 1e-300))};
}

// L-BFGS (Nocedal & Wright, algorithm 7.4) with a backtracking Armijo line search; the
// objective is smooth (Huber is C1) and has five variables, so this is plenty.
double lbfgs(const std::vector<LossPoint>& pts, LawForm form, Theta& x, double delta, int max_iters) {
  const int m = 8;
  Theta g{}, xn{}, gn{};
  double fx = huber_objective(pts, form, x.data(), delta, g.data());
  std::deque<std::pair<Theta, Theta>> hist;  // (s, y)
  for (int it = 0; it < max_iters; ++it) {
    // Two-loop recursion: d = -H g.
    Theta q = g;
    std::vector<double> al(hist.size());
    for (size_t i = hist.size(); i-- > 0;) {
      const auto& [s, y] = hist[i];
      double sy = 0, sq = 0;
      for (int k = 0; k < 5; ++k) sy += s[size_t(k)] * y[size_t(k)], sq += s[size_t(k)] * q[size_t(k)];
      al[i] = sq / sy;
      for (int k = 0; k < 5; ++k) q[size_t(k)] -= al[i] * y[size_t(k)];
    }
    double gamma = 1;
    if (!hist.empty()) {
      const auto& [s, y] = hist.back();
      double sy = 0, yy = 0;
      for (int k = 0; k < 5; ++k) sy += s[size_t(k)] * y[size_t(k)], yy += y[size_t(k)] * y[size_t(k)];
      gamma = sy / yy;
    }
    for (auto& v : q) v *= gamma;
    for (size_t i = 0; i < hist.size(); ++i) {
      const auto& [s, y] = hist[i];
      double sy = 0, yq = 0;
      for (int k = 0; k < 5; ++k) sy += s[size_t(k)] * y[size_t(k)], yq += y[size_t(k)] * q[size_t(k)];
      double b = yq / sy;
      for (int k = 0; k < 5; ++k) q[size_t(k)] += s[size_t(k)] * (al[i] - b);
    }
    Theta d;
    double gd = 0;
    for (int k = 0; k < 5; ++k) d[size_t(k)] = -q[size_t(k)], gd += g[size_t(k)] * d[size_t(k)];
    if (gd >= 0) {  // not a descent direction: fall back to steepest descent
      hist.clear();
      gd = 0;
      for (int k = 0; k < 5; ++k) d[size_t(k)] = -g[size_t(k)], gd -= g[size_t(k)] * g[size_t(k)];
    }
    if (-gd < 1e-30) break;
    double step = 1, fn = 0;
    bool ok = false;
    for (int ls = 0; ls < 40; ++ls, step *= 0.5) {
      for (int k = 0; k < 5; ++k) xn[size_t(k)] = x[size_t(k)] + step * d[size_t(k)];
      fn = huber_objective(pts, form, xn.data(), delta, gn.data());
      if (std::isfinite(fn) && fn <= fx + 1e-4 * step * gd) {
        ok = true;
        break;
      }
    }
    if (!ok) break;
    Theta s, y;
    double sy = 0;
    for (int k = 0; k < 5; ++k) s[size_t(k)] = xn[size_t(k)] - x[size_t(k)], y[size_t(k)] = gn[size_t(k)] - g[size_t(k)],
                                sy += s[size_t(k)] * y[size_t(k)];
    const double rel = (fx - fn) / std::max(std::abs(fx), 1e-300);
    x = xn, g = gn, fx = fn;
    if (sy > 1e-300) {
      hist.emplace_back(s, y);
      if (int(hist.size()) > m) hist.pop_front();
    }
    if (rel < 1e-14 && it > 5) break;
  }
  return fx;
}

// Hoffmann et al.'s grid of starts: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1},
// a, b in {0, 5, ..., 25}; the coarse grid keeps a few of each.
std::vector<Theta> start_grid(LawForm form, bool full) {
  std::vector<double> exps = full ? std::vector<double>{0, 0.5, 1, 1.5, 2} : std::vector<double>{0.3, 1};
  std::vector<double> es = full ? std::vector<double>{-1, -0.5, 0, 0.5, 1} : std::vector<double>{0, 0.5};
  std::vector<double> amps = full ? std::vector<double>{0, 5, 10, 15, 20, 25} : std::vector<double>{2, 10};
  std::vector<double> none = {0};
  const auto& na = has_n(form) ? amps : none;
  const auto& ne = has_n(form) ? exps : none;
  const auto& da = has_d(form) ? amps : none;
  const auto& de = has_d(form) ? exps : none;
  std::vector<Theta> out;
  for (double a : na)
    for (double al : ne)
      for (double b : da)
        for (double be : de)
          for (double e : es) out.push_back({a, al, b, be, e});
  return out;
}

// Every start gets a short L-BFGS run; the best few are then run to convergence. Most of
// the grid falls into the same few basins, so this finds Hoffmann's full-run optimum at a
// fraction of the cost.
LawFit fit_from(const std::vector<LossPoint>& pts, LawForm form, const std::vector<Theta>& starts, const FitOptions& opt) {
  auto valid = [&](const Theta& x, double f) {  // negative exponents make loss grow with size: no scaling law
    return std::isfinite(f) && (!has_n(form) || x[1] >= 0) && (!has_d(form) || x[3] >= 0);
  };
  std::vector<std::pair<double, Theta>> scouts;
  for (Theta x : starts) {
    double f = lbfgs(pts, form, x, opt.huber_delta, std::min(opt.max_iters, 25));
    if (valid(x, f)) scouts.push_back({f, x});
  }
  const size_t keep = std::min<size_t>(scouts.size(), 8);
  std::partial_sort(scouts.begin(), scouts.begin() + long(keep), scouts.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
  Theta best{};
  double best_f = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < keep; ++i) {
    Theta x = scouts[i].second;
    double f = lbfgs(pts, form, x, opt.huber_delta, opt.max_iters);
    if (valid(x, f) && f < best_f) best_f = f, best = x;
  }
  if (!std::isfinite(best_f)) throw Error("the scaling-law fit found no finite optimum (are the losses positive?)");
  return to_fit(best, form, best_f);
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  double pos = q * double(v.size() - 1);
  size_t i = size_t(pos);
  double f = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

}  // namespace

double LawFit::predict(double N, double D) const {
  double L = E;
  if (has_n(form)) L += A / std::pow(N, alpha);
  if (has_d(form)) L += B / std::pow(D, beta);
  return L;
}

json LawFit::to_json() const {
  const char* names[] = {"joint", "n_only", "d_only"};
  json j = {{"form", names[int(form)]}, {"E", E}, {"objective", objective}};
  if (has_n(form)) j["A"] = A, j["alpha"] = alpha;
  if (has_d(form)) j["B"] = B, j["beta"] = beta;
  return j;
}

double huber_objective(const std::vector<LossPoint>& pts, LawForm form, const double t[5], double delta, double grad[5]) {
  for (int k = 0; k < 5; ++k) grad[k] = 0;
  double total = 0;
  for (const auto& p : pts) {
    // The log-sum-exp of the law's terms, stably, and each term's softmax weight.
    double z[3] = {-INFINITY, -INFINITY, t[4]};
    if (has_n(form)) z[0] = t[0] - t[1] * std::log(p.N);
    if (has_d(form)) z[1] = t[2] - t[3] * std::log(p.D);
    double mx = std::max({z[0], z[1], z[2]}), s = 0;
    for (double v : z) s += std::exp(v - mx);
    const double lse = mx + std::log(s);
    const double r = lse - std::log(p.L);
    total += huber(r, delta);
    const double h = huber_slope(r, delta);
    double w[3];
    for (int i = 0; i < 3; ++i) w[i] = std::exp(z[i] - lse);
    if (has_n(form)) grad[0] += h * w[0], grad[1] -= h * w[0] * std::log(p.N);
    if (has_d(form)) grad[2] += h * w[1], grad[3] -= h * w[1] * std::log(p.D);
    grad[4] += h * w[2];
  }
  return total;
}

LawFit fit_law(const std::vector<LossPoint>& pts, LawForm form, const FitOptions& opt) {
  if (int(pts.size()) < n_params(form))
    throw Error("a scaling-law fit with " + std::to_string(n_params(form)) + " parameters needs at least as many runs; got " +
                std::to_string(pts.size()));
  for (const auto& p : pts)
    if (!(p.N > 0 && p.D > 0 && p.L > 0) || !std::isfinite(p.L))
      throw Error("a run has a non-positive or non-finite N, D or loss; cannot fit a scaling law");
  return fit_from(pts, form, start_grid(form, opt.full_grid), opt);
}

BootstrapResult bootstrap_law(const std::vector<LossPoint>& pts, LawForm form, const LawFit& central, int resamples,
                              double level, uint64_t seed, const FitOptions& opt) {
  BootstrapResult r;
  std::vector<double> E, A, al, B, be;
  Rng rng(seed);
  auto starts = start_grid(form, false);
  starts.push_back(to_theta(central));
  for (int i = 0; i < resamples; ++i) {
    std::vector<LossPoint> s(pts.size());
    std::set<std::pair<double, double>> distinct;
    for (auto& p : s) p = pts[rng.below(uint32_t(pts.size()))], distinct.insert({p.N, p.D});
    if (int(distinct.size()) < n_params(form)) {
      ++r.failed;
      continue;
    }
    LawFit f;
    try {
      f = fit_from(s, form, starts, opt);
    } catch (const Error&) {
      ++r.failed;
      continue;
    }
    E.push_back(f.E), A.push_back(f.A), al.push_back(f.alpha), B.push_back(f.B), be.push_back(f.beta);
  }
  r.resamples = int(E.size());
  if (E.empty()) return r;
  const double lo = (1 - level) / 2, hi = (1 + level) / 2;
  auto iv = [&](const std::vector<double>& v) { return Interval{percentile(v, lo), percentile(v, hi)}; };
  r.E = iv(E), r.A = iv(A), r.alpha = iv(al), r.B = iv(B), r.beta = iv(be);
  return r;
}

json BootstrapResult::to_json() const {
  auto iv = [](const Interval& i) { return json::array({i.lo, i.hi}); };
  return {{"E", iv(E)}, {"A", iv(A)}, {"alpha", iv(alpha)}, {"B", iv(B)}, {"beta", iv(beta)},
          {"resamples", resamples}, {"failed", failed}};
}

Allocation compute_optimal(const LawFit& f, double C) {
  Allocation a;
  a.C = C;
  if (f.form != LawForm::joint || f.alpha <= 0 || f.beta <= 0) return a;
  const double G = std::pow(f.alpha * f.A / (f.beta * f.B), 1.0 / (f.alpha + f.beta));
  a.N = G * std::pow(C / 6, f.beta / (f.alpha + f.beta));
  a.D = C / (6 * a.N);
  a.L = f.predict(a.N, a.D);
  return a;
}

}  // namespace slm::scaling
