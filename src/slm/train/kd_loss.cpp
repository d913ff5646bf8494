#include "slm/train/kd_loss.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "slm/util/error.h"

namespace slm::train {

void check_kd_options(const KdOptions& o, bool topk_teacher) {
  if (!(o.alpha >= 0 && o.alpha <= 1))
    throw Error(fmt::format("alpha is {}: expected a number in [0, 1]", o.alpha), "--alpha");
  if (!(o.temperature > 0 && std::isfinite(o.temperature)))
    throw Error(fmt::format("the temperature is {}: expected a number > 0", o.temperature), "--temperature");
  if (topk_teacher && o.divergence == Divergence::reverse)
    throw Error("reverse KL needs the teacher's whole distribution; cached top-k logits give only k of it "
                "(run the teacher on the fly, or use forward KL)",
                "--divergence");
}

namespace {

// A softmax of x / tau into out (as T), returning log(sum of exponentials) after the max
// is taken out: log softmax(x / tau)_j = (x_j - mx) / tau - lse, with mx the max.
// The exponentials are taken in T (single precision when training, as the fused
// cross-entropy does), their sum in double.
template <class T, class X>
double scaled_softmax(T* out, const X* x, int n, double tau, double& mx) {
  mx = double(*std::max_element(x, x + n));
  const T m = T(mx), inv_tau = T(1.0 / tau);
  double sum = 0;
  for (int j = 0; j < n; ++j) sum += double(out[j] = std::exp((T(x[j]) - m) * inv_tau));
  const T inv = T(1.0 / sum);
  for (int j = 0; j < n; ++j) out[j] *= inv;
  return std::log(sum);
}

// Scratch of one thread: the student's softmax at 1 and at tau, the teacher's at tau.
template <class T>
struct RowScratch {
  std::vector<T> s1, q, p;
};

// One row: its loss parts, and when grad is set, dloss/dlogits · scale written there
// (grad may be z itself: z is read in full before grad is written).
template <class T>
void kd_row(const T* z, int32_t y, const TeacherLogits& t, int64_t n, int V, const KdOptions& o, T* grad,
            double scale, RowScratch<T>& sc, double& ce, double& kl) {
  const double tau = o.temperature, a = o.alpha;
  sc.q.resize(size_t(V));
  double mz = 0;
  const double lse_q = scaled_softmax(sc.q.data(), z, V, tau, mz);
  // log q_j = (z_j - mz) / tau - lse_q
  auto log_q = [&](int j) { return (double(z[j]) - mz) / tau - lse_q; };
  // The label's softmax at temperature 1 (the same as q when tau is 1).
  const T* s1 = sc.q.data();
  double lse_1 = lse_q;
  if (tau != 1.0) {
    sc.s1.resize(size_t(V));
    double m1 = 0;
    lse_1 = scaled_softmax(sc.s1.data(), z, V, 1.0, m1);
    s1 = sc.s1.data();
  }
  ce = lse_1 + mz - double(z[y]);

  kl = 0;
  if (t.dense) {
    const float* tz = t.dense + n * V;
    sc.p.resize(size_t(V));
    double mt = 0;
    const double lse_p = scaled_softmax(sc.p.data(), tz, V, tau, mt);
    // r_j = log q_j - log p_j; forward KL = -sum p r, reverse KL = sum q r.
    if (o.divergence == Divergence::forward) {
      for (int j = 0; j < V; ++j)
        if (sc.p[size_t(j)] > 0) kl -= double(sc.p[size_t(j)]) * (log_q(j) - ((double(tz[j]) - mt) / tau - lse_p));
    } else {
      for (int j = 0; j < V; ++j) kl += double(sc.q[size_t(j)]) * (log_q(j) - ((double(tz[j]) - mt) / tau - lse_p));
    }
    if (!grad) return;
    const double hard = scale * a, soft = scale * (1 - a) * tau;
    if (o.divergence == Divergence::forward) {
      for (int j = 0; j < V; ++j)
        grad[j] = T(hard * double(s1[j]) + soft * (double(sc.q[size_t(j)]) - double(sc.p[size_t(j)])));
    } else {
      // Computed from z before z is overwritten: r_j needs z_j.
      for (int j = 0; j < V; ++j) {
        const double r = log_q(j) - ((double(tz[j]) - mt) / tau - lse_p);
        grad[j] = T(hard * double(s1[j]) + soft * double(sc.q[size_t(j)]) * (r - kl));
      }
    }
  } else {
    // Sparse teacher: p over its k ids only.
    const int k = t.k;
    const float* tl = t.topk_logits + n * k;
    const int32_t* ids = t.topk_ids + n * k;
    sc.p.resize(size_t(k));
    double mt = 0;
    const double lse_p = scaled_softmax(sc.p.data(), tl, k, tau, mt);
    for (int i = 0; i < k; ++i)
      if (sc.p[size_t(i)] > 0)
        kl += double(sc.p[size_t(i)]) * (((double(tl[i]) - mt) / tau - lse_p) - log_q(ids[i]));
    if (!grad) return;
    const double hard = scale * a, soft = scale * (1 - a) * tau;
    for (int j = 0; j < V; ++j) grad[j] = T(hard * double(s1[j]) + soft * double(sc.q[size_t(j)]));
    for (int i = 0; i < k; ++i) grad[ids[i]] -= T(soft * double(sc.p[size_t(i)]));
  }
  grad[y] -= T(scale * a);
}

void check_teacher(const TeacherLogits& t, int N, int V) {
  if (t.dense) return;
  if (!t.topk_ids || !t.topk_logits || t.k <= 0) throw Error("the teacher gives neither dense nor top-k logits");
  for (int64_t i = 0; i < int64_t(N) * t.k; ++i)
    if (t.topk_ids[i] < 0 || t.topk_ids[i] >= V)
      throw Error(fmt::format("a teacher top-k id is {}, outside the student's vocabulary of {}", t.topk_ids[i], V));
}

template <class T>
KdLoss kd_sweep(const T* z, T* grad, const int32_t* targets, const TeacherLogits& t, int N, int V,
                const KdOptions& o, double grad_scale, const float* weights) {
  check_kd_options(o, t.dense == nullptr);
  check_teacher(t, N, V);
  std::vector<double> ce(size_t(N), 0.0), kl(size_t(N), 0.0);
#pragma omp parallel
  {
    RowScratch<T> sc;
#pragma omp for schedule(static)
    for (int n = 0; n < N; ++n) {
      T* g = grad ? grad + int64_t(n) * V : nullptr;
      if (targets[n] < 0) {
        if (g) std::fill(g, g + V, T(0));
        continue;
      }
      if (targets[n] >= V) continue;  // refused below, outside the parallel loop
      const double w = weights ? double(weights[n]) : 1.0;
      kd_row(z + int64_t(n) * V, targets[n], t, n, V, o, g, grad_scale * w, sc, ce[size_t(n)], kl[size_t(n)]);
    }
  }
  KdLoss r;
  double total = 0;
  for (int n = 0; n < N; ++n) {
    if (targets[n] < 0) continue;
    if (targets[n] >= V)
      throw Error(fmt::format("target {} is outside the vocabulary of {}", targets[n], V), fmt::format("row {}", n));
    const double w = weights ? double(weights[n]) : 1.0;
    r.ce += w * ce[size_t(n)];
    r.kl += w * kl[size_t(n)];
    total += w;
    ++r.counted;
  }
  if (total > 0) r.ce /= total, r.kl /= total;
  r.loss = o.alpha * r.ce + (1 - o.alpha) * o.temperature * o.temperature * r.kl;
  return r;
}

}  // namespace

template <class T>
KdLoss kd_forward_backward(T* logits, const int32_t* targets, const TeacherLogits& teacher, int N, int V,
                           const KdOptions& o, double grad_scale, const float* weights) {
  return kd_sweep<T>(logits, logits, targets, teacher, N, V, o, grad_scale, weights);
}

template <class T>
KdLoss kd_loss(const T* logits, const int32_t* targets, const TeacherLogits& teacher, int N, int V,
               const KdOptions& o, const float* weights) {
  return kd_sweep<T>(logits, nullptr, targets, teacher, N, V, o, 0.0, weights);
}

template KdLoss kd_forward_backward<float>(float*, const int32_t*, const TeacherLogits&, int, int, const KdOptions&,
                                           double, const float*);
template KdLoss kd_forward_backward<double>(double*, const int32_t*, const TeacherLogits&, int, int,
                                            const KdOptions&, double, const float*);
template KdLoss kd_loss<float>(const float*, const int32_t*, const TeacherLogits&, int, int, const KdOptions&,
                               const float*);
template KdLoss kd_loss<double>(const double*, const int32_t*, const TeacherLogits&, int, int, const KdOptions&,
                                const float*);

}  // namespace slm::train
