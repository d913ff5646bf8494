// The distillation loss: value against a direct double-precision evaluation of the
// formula, gradients against central finite differences, float against double.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "slm/train/kd_loss.h"
#include "slm/util/error.h"

using namespace slm::train;

namespace {

struct Case {
  int N = 5, V = 11, k = 4;
  std::vector<double> z;       // student logits
  std::vector<float> t;        // dense teacher logits
  std::vector<int32_t> ids;    // top-k of t per row
  std::vector<float> tk;       // their logits
  std::vector<int32_t> y;
  explicit Case(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> g(0, 2);
    z.resize(size_t(N) * V);
    t.resize(z.size());
    for (auto& v : z) v = g(rng);
    for (auto& v : t) v = float(g(rng));
    y = {3, -1, 0, 10, 7};
    for (int n = 0; n < N; ++n) {
      std::vector<int32_t> order(static_cast<size_t>(V));
      for (int j = 0; j < V; ++j) order[size_t(j)] = j;
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [&](int a, int b) { return t[size_t(n * V + a)] > t[size_t(n * V + b)]; });
      for (int i = 0; i < k; ++i) {
        ids.push_back(order[size_t(i)]);
        tk.push_back(t[size_t(n * V + order[size_t(i)])]);
      }
    }
  }
  TeacherLogits dense() const { return {t.data(), nullptr, nullptr, 0}; }
  TeacherLogits topk() const { return {nullptr, ids.data(), tk.data(), k}; }
};

std::vector<double> softmax(const double* x, int n, double tau) {
  double mx = *std::max_element(x, x + n), s = 0;
  std::vector<double> p(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) s += p[size_t(j)] = std::exp((x[j] - mx) / tau);
  for (auto& v : p) v /= s;
  return p;
}

// The formula read straight from the paper, in double, with explicit distributions.
double reference_loss(const Case& c, const std::vector<double>& z, bool sparse, const KdOptions& o) {
  double total = 0;
  int counted = 0;
  for (int n = 0; n < c.N; ++n) {
    if (c.y[size_t(n)] < 0) continue;
    ++counted;
    const double* zr = z.data() + n * c.V;
    auto s1 = softmax(zr, c.V, 1.0);
    auto q = softmax(zr, c.V, o.temperature);
    std::vector<double> tz(size_t(c.V), -1e300), p(size_t(c.V), 0.0);
    if (sparse) {
      std::vector<double> tl(c.tk.begin() + n * c.k, c.tk.begin() + (n + 1) * c.k);
      auto pk = softmax(tl.data(), c.k, o.temperature);
      for (int i = 0; i < c.k; ++i) p[size_t(c.ids[size_t(n * c.k + i)])] = pk[size_t(i)];
    } else {
      for (int j = 0; j < c.V; ++j) tz[size_t(j)] = c.t[size_t(n * c.V + j)];
      p = softmax(tz.data(), c.V, o.temperature);
    }
    double kl = 0;
    for (int j = 0; j < c.V; ++j) {
      if (o.divergence == Divergence::forward) {
        if (p[size_t(j)] > 0) kl += p[size_t(j)] * std::log(p[size_t(j)] / q[size_t(j)]);
      } else {
        kl += q[size_t(j)] * std::log(q[size_t(j)] / p[size_t(j)]);
      }
    }
    const double ce = -std::log(s1[size_t(c.y[size_t(n)])]);
    total += o.alpha * ce + (1 - o.alpha) * o.temperature * o.temperature * kl;
  }
  return total / counted;
}

void check(const KdOptions& o, bool sparse, unsigned seed) {
  Case c(seed);
  const TeacherLogits t = sparse ? c.topk() : c.dense();
  const double ref = reference_loss(c, c.z, sparse, o);
  const KdLoss l = kd_loss<double>(c.z.data(), c.y.data(), t, c.N, c.V, o);
  EXPECT_NEAR(l.loss, ref, 1e-10 * std::max(1.0, std::abs(ref)));
  EXPECT_EQ(l.counted, 4);

  // Analytic gradient of the mean loss (grad_scale 1 / counted).
  std::vector<double> g = c.z;
  const KdLoss lg = kd_forward_backward<double>(g.data(), c.y.data(), t, c.N, c.V, o, 1.0 / 4);
  EXPECT_NEAR(lg.loss, ref, 1e-10 * std::max(1.0, std::abs(ref)));
  const double h = 1e-5;
  double worst = 0;
  for (size_t i = 0; i < c.z.size(); ++i) {
    std::vector<double> zp = c.z, zm = c.z;
    zp[i] += h, zm[i] -= h;
    const double fd = (reference_loss(c, zp, sparse, o) - reference_loss(c, zm, sparse, o)) / (2 * h);
    worst = std::max(worst, std::abs(fd - g[i]));
  }
  EXPECT_LT(worst, 1e-7) << "alpha " << o.alpha << " tau " << o.temperature << " sparse " << sparse;

  // The float path agrees with the double one.
  std::vector<float> zf(c.z.begin(), c.z.end());
  const KdLoss lf = kd_forward_backward<float>(zf.data(), c.y.data(), t, c.N, c.V, o, 1.0 / 4);
  EXPECT_NEAR(lf.loss, ref, 1e-5 * std::max(1.0, std::abs(ref)));
  for (size_t i = 0; i < zf.size(); ++i) EXPECT_NEAR(zf[i], g[i], 1e-6);
}

}  // namespace

TEST(KdLoss, ForwardKlMatchesFormulaAndFiniteDifferences) {
  for (double a : {0.0, 0.3, 1.0})
    for (double tau : {1.0, 2.5}) check({a, tau, Divergence::forward}, false, 1);
}

TEST(KdLoss, WeightedRowsGiveTheWeightedMeanAndItsGradient) {
  // Row weights as train::Batch::w carries them (per-example SFT, --words-weight): the
  // loss is Σ w·loss / Σ w over the counted rows, and with grad_scale 1 / Σ w the
  // gradient is that of the weighted mean (finite differences of the weighted reference).
  const std::vector<float> w = {0.5f, 9.f, 2.f, 1.f, 3.f};  // row 1 is not counted (target -1)
  const double total = 0.5 + 2 + 1 + 3;
  for (bool sparse : {false, true})
    for (double a : {0.0, 0.6}) {
      const KdOptions o{a, 1.5, Divergence::forward};
      Case c(4);
      const TeacherLogits t = sparse ? c.topk() : c.dense();
      auto weighted = [&](const std::vector<double>& z) {
        double sum = 0;
        for (int n = 0; n < c.N; ++n) {
          if (c.y[size_t(n)] < 0) continue;
          Case one = c;  // the reference on row n alone
          for (int m = 0; m < c.N; ++m)
            if (m != n) one.y[size_t(m)] = -1;
          sum += double(w[size_t(n)]) * reference_loss(one, z, sparse, o);
        }
        return sum / total;
      };
      const double ref = weighted(c.z);
      EXPECT_NEAR(kd_loss<double>(c.z.data(), c.y.data(), t, c.N, c.V, o, w.data()).loss, ref, 1e-10);
      std::vector<double> g = c.z;
      kd_forward_backward<double>(g.data(), c.y.data(), t, c.N, c.V, o, 1.0 / total, w.data());
      double worst = 0;
      const double h = 1e-5;
      for (size_t i = 0; i < c.z.size(); ++i) {
        std::vector<double> zp = c.z, zm = c.z;
        zp[i] += h, zm[i] -= h;
        worst = std::max(worst, std::abs((weighted(zp) - weighted(zm)) / (2 * h) - g[i]));
      }
      EXPECT_LT(worst, 1e-7) << "alpha " << a << " sparse " << sparse;
    }
}

TEST(KdLoss, ReverseKlMatchesFormulaAndFiniteDifferences) {
  for (double a : {0.0, 0.5})
    for (double tau : {1.0, 0.7, 3.0}) check({a, tau, Divergence::reverse}, false, 2);
}

TEST(KdLoss, TopkTeacherMatchesFormulaAndFiniteDifferences) {
  for (double a : {0.0, 0.4})
    for (double tau : {1.0, 2.0}) check({a, tau, Divergence::forward}, true, 3);
}

TEST(KdLoss, AlphaOneIsCrossEntropyAndSameLogitsGiveNoKl) {
  Case c(4);
  KdOptions o{1.0, 2.0, Divergence::forward};
  auto l = kd_loss<double>(c.z.data(), c.y.data(), c.dense(), c.N, c.V, o);
  EXPECT_DOUBLE_EQ(l.loss, l.ce);
  // A teacher identical to the student: KL is zero both ways, whatever the temperature.
  std::vector<float> same(c.z.begin(), c.z.end());
  std::vector<double> zs(same.begin(), same.end());
  for (auto d : {Divergence::forward, Divergence::reverse}) {
    auto m = kd_loss<double>(zs.data(), c.y.data(), {same.data(), nullptr, nullptr, 0}, c.N, c.V, {0.0, 3.0, d});
    EXPECT_NEAR(m.kl, 0.0, 1e-12);
    EXPECT_NEAR(m.loss, 0.0, 1e-12);
  }
}

TEST(KdLoss, TopkOfTheWholeVocabularyIsTheDenseLoss) {
  Case c(5);
  c.k = c.V;
  c.ids.clear(), c.tk.clear();
  for (int n = 0; n < c.N; ++n)
    for (int j = 0; j < c.V; ++j) c.ids.push_back(j), c.tk.push_back(c.t[size_t(n * c.V + j)]);
  KdOptions o{0.2, 1.5, Divergence::forward};
  auto d = kd_loss<double>(c.z.data(), c.y.data(), c.dense(), c.N, c.V, o);
  auto s = kd_loss<double>(c.z.data(), c.y.data(), c.topk(), c.N, c.V, o);
  EXPECT_NEAR(d.loss, s.loss, 1e-12);
}

TEST(KdLoss, RefusesBadOptionsAndTeachers) {
  Case c(6);
  EXPECT_THROW(kd_loss<double>(c.z.data(), c.y.data(), c.topk(), c.N, c.V, {0.5, 1.0, Divergence::reverse}),
               slm::Error);
  EXPECT_THROW(kd_loss<double>(c.z.data(), c.y.data(), c.dense(), c.N, c.V, {1.5, 1.0, Divergence::forward}),
               slm::Error);
  EXPECT_THROW(kd_loss<double>(c.z.data(), c.y.data(), c.dense(), c.N, c.V, {0.5, 0.0, Divergence::forward}),
               slm::Error);
  c.ids[0] = c.V;  // an id outside the vocabulary
  EXPECT_THROW(kd_loss<double>(c.z.data(), c.y.data(), c.topk(), c.N, c.V, {0.5, 1.0, Divergence::forward}),
               slm::Error);
}
