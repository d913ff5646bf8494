// Every op's backward against central finite differences of its forward, in double
// precision (the ops are templates: this is the same code that trains in float).
// The loss is L = Σ out · R for a fixed random R, so dL/dout = R.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "slm/tensor/ops.h"
#include "slm/util/rng.h"

using namespace slm;
using namespace slm::tensor;
using Vec = std::vector<double>;

namespace {

Vec randn(size_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  Vec v(n);
  for (auto& x : v) {  // Box-Muller
    double u1 = rng.uniform() + 1e-12, u2 = rng.uniform();
    x = scale * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
  }
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Checks analytic against (L(x + h) - L(x - h)) / 2h for every element of x.
void expect_grad(Vec& x, const Vec& analytic, const std::function<double()>& loss, const char* what,
                 double tol = 1e-6) {
  ASSERT_EQ(x.size(), analytic.size());
  const double h = 1e-6;
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + h;
    double up = loss();
    x[i] = keep - h;
    double down = loss();
    x[i] = keep;
    double numeric = (up - down) / (2 * h);
    double err = std::abs(numeric - analytic[i]) / std::max(1.0, std::abs(numeric));
    worst = std::max(worst, err);
    ASSERT_LT(err, tol) << what << "[" << i << "]: analytic " << analytic[i] << " numeric " << numeric;
  }
  ::testing::Test::RecordProperty(what, std::to_string(worst));
}

}  // namespace

TEST(OpsGrad, Matmul) {
  const int N = 5, I = 7, O = 4;
  Vec x = randn(N * I, 1), w = randn(O * I, 2), R = randn(N * O, 3), y(N * O);
  auto loss = [&] {
    matmul_forward(y.data(), x.data(), w.data(), N, I, O);
    return dot(y, R);
  };
  Vec dx(N * I, 0), dw(O * I, 0);
  matmul_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), N, I, O);
  expect_grad(x, dx, loss, "dx");
  expect_grad(w, dw, loss, "dw");
}

TEST(OpsGrad, Embedding) {
  const int N = 6, C = 5, V = 4;
  std::vector<int32_t> ids = {0, 3, 3, 1, 0, 2};
  Vec table = randn(V * C, 4), R = randn(N * C, 5), out(N * C);
  auto loss = [&] {
    embedding_forward(out.data(), ids.data(), table.data(), N, C);
    return dot(out, R);
  };
  Vec dt(V * C, 0);
  embedding_backward(dt.data(), ids.data(), R.data(), N, C);
  expect_grad(table, dt, loss, "dtable");
}

TEST(OpsGrad, RmsNorm) {
  const int N = 4, C = 9;
  Vec x = randn(N * C, 6), w = randn(C, 7), R = randn(N * C, 8), y(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    return dot(y, R);
  };
  loss();
  Vec dx(N * C, 0), dw(C, 0);
  rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
  expect_grad(x, dx, loss, "dx");
  expect_grad(w, dw, loss, "dw");
}

TEST(OpsGrad, Rope) {
  const int B = 2, T = 5, H = 3, d = 8;
  Vec x = randn(B * T * H * d, 9), R = randn(B * T * H * d, 10);
  auto loss = [&] {
    Vec y = x;
    rope_forward(y.data(), B, T, H, d, 10000.f);
    return dot(y, R);
  };
  Vec dx = R;
  rope_backward(dx.data(), B, T, H, d, 10000.f);
  expect_grad(x, dx, loss, "dx");
  // Position 0 is not rotated; the rotation keeps each pair's length.
  Vec y = x;
  rope_forward(y.data(), B, T, H, d, 10000.f);
  for (int i = 0; i < H * d; ++i) EXPECT_DOUBLE_EQ(y[size_t(i)], x[size_t(i)]);
}

TEST(OpsGrad, AttentionWithGroupedQueryHeads) {
  const int B = 2, T = 5, H = 4, Hkv = 2, d = 3;
  Vec q = randn(B * T * H * d, 11), k = randn(B * T * Hkv * d, 12), v = randn(B * T * Hkv * d, 13);
  Vec R = randn(B * T * H * d, 14), out(B * T * H * d), att(B * H * T * T);
  auto loss = [&] {
    attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, T, H, Hkv, d);
    return dot(out, R);
  };
  loss();
  Vec dq(q.size()), dk(k.size()), dv(v.size()), datt(att.size());
  attention_backward(dq.data(), dk.data(), dv.data(), datt.data(), R.data(), q.data(), k.data(), v.data(),
                     att.data(), B, T, H, Hkv, d);
  expect_grad(q, dq, loss, "dq");
  expect_grad(k, dk, loss, "dk");
  expect_grad(v, dv, loss, "dv");
}

TEST(OpsGrad, AttentionIsCausal) {
  const int B = 1, T = 6, H = 2, Hkv = 1, d = 4;
  Vec q = randn(T * H * d, 15), k = randn(T * Hkv * d, 16), v = randn(T * Hkv * d, 17);
  Vec out(q.size()), out2(q.size()), att(size_t(H) * T * T);
  attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, T, H, Hkv, d);
  for (int i = 0; i < Hkv * d; ++i) v[size_t((T - 1) * Hkv * d + i)] += 5;  // change the last position only
  attention_forward(out2.data(), att.data(), q.data(), k.data(), v.data(), B, T, H, Hkv, d);
  for (int i = 0; i < (T - 1) * H * d; ++i) EXPECT_DOUBLE_EQ(out[size_t(i)], out2[size_t(i)]);
}

TEST(OpsGrad, SwiGlu) {
  const int n = 20;
  Vec g = randn(n, 18, 2.0), u = randn(n, 19), R = randn(n, 20), h(n);
  auto loss = [&] {
    swiglu_forward(h.data(), g.data(), u.data(), n);
    return dot(h, R);
  };
  Vec dg(n), du(n);
  swiglu_backward(dg.data(), du.data(), R.data(), g.data(), u.data(), n);
  expect_grad(g, dg, loss, "dg");
  expect_grad(u, du, loss, "du");
}

TEST(OpsGrad, CrossEntropyWithIgnoredTargets) {
  const int N = 5, V = 7;
  Vec z = randn(N * V, 21, 3.0);
  std::vector<int32_t> targets = {2, -1, 6, 0, 3};
  auto loss = [&] { return cross_entropy_loss(z.data(), targets.data(), N, V); };
  Vec g = z;
  int counted = 0;
  double l = cross_entropy_forward_backward(g.data(), targets.data(), N, V, 1.0 / 4, &counted);
  EXPECT_EQ(counted, 4);
  EXPECT_NEAR(l, loss(), 1e-12);
  expect_grad(z, g, loss, "dlogits");
  for (int j = 0; j < V; ++j) EXPECT_EQ(g[size_t(V + j)], 0.0) << "an ignored row has no gradient";

  // Weighted rows: the loss is the weighted mean; with grad_scale = 1 / (sum of the
  // counted weights) the gradient is that mean's.
  const std::vector<float> w = {0.5f, 9.f, 2.f, 1.f, 0.25f};
  const double wsum = 0.5 + 2 + 1 + 0.25;
  auto wloss = [&] { return cross_entropy_loss(z.data(), targets.data(), N, V, nullptr, w.data()); };
  double want = 0;
  for (int n : {0, 2, 3, 4}) {
    std::vector<int32_t> one(size_t(N), -1);
    one[size_t(n)] = targets[size_t(n)];
    want += w[size_t(n)] * cross_entropy_loss(z.data(), one.data(), N, V);
  }
  EXPECT_NEAR(wloss(), want / wsum, 1e-12);
  Vec gw = z;
  EXPECT_NEAR(cross_entropy_forward_backward(gw.data(), targets.data(), N, V, 1.0 / wsum, nullptr, w.data()), wloss(),
              1e-12);
  expect_grad(z, gw, wloss, "dlogits (weighted rows)");
}
