#include "slm/tensor/ops.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "slm/tensor/gemm.h"

namespace slm::tensor {

// ---------------------------------------------------------------- linear

namespace {
// The one GEMM of a linear layer, in the precision asked for (bf16 only for float).
template <class T>
void linear_gemm(Precision p, bool ta, bool tb, int M, int N, int K, const T* A, int lda, const T* B, int ldb, T beta,
                 T* C, int ldc) {
  if constexpr (std::is_same_v<T, float>)
    if (p == Precision::bf16) return gemm_bf16(ta, tb, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
  gemm(ta, tb, M, N, K, T(1), A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

template <class T>
void matmul_forward(T* y, const T* x, const T* w, int N, int I, int O, Precision p) {
  // One row is a matrix-vector product: GEMM would first repack all of W for it.
  if (N == 1) return gemv(O, I, w, x, y);
  linear_gemm(p, false, true, N, O, I, x, I, w, I, T(0), y, O);
}

template <class T>
void matmul_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int N, int I, int O, Precision p) {
  if (dx) linear_gemm(p, false, false, N, I, O, dy, O, w, I, T(1), dx, I);
  if (dw) linear_gemm(p, true, false, O, I, N, dy, O, x, I, T(1), dw, I);
}

// ---------------------------------------------------------------- embedding

template <class T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int N, int C) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* row = table + int64_t(ids[n]) * C;
    for (int c = 0; c < C; ++c) out[int64_t(n) * C + c] = row[c];
  }
}

template <class T>
void embedding_backward(T* dtable, const int32_t* ids, const T* dout, int N, int C) {
  // Serial: rows may share a token, and a fixed order keeps runs bit-identical.
  for (int n = 0; n < N; ++n) {
    T* row = dtable + int64_t(ids[n]) * C;
    for (int c = 0; c < C; ++c) row[c] += dout[int64_t(n) * C + c];
  }
}

// ---------------------------------------------------------------- rmsnorm

template <class T>
void rmsnorm_forward(T* y, T* rstd, const T* x, const T* w, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* xr = x + int64_t(n) * C;
    T* yr = y + int64_t(n) * C;
    T ss = 0;
    for (int c = 0; c < C; ++c) ss += xr[c] * xr[c];
    T r = T(1) / std::sqrt(ss / T(C) + T(eps));
    rstd[n] = r;
    for (int c = 0; c < C; ++c) yr[c] = xr[c] * r * w[c];
  }
}

template <class T>
void rmsnorm_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd, int N, int C) {
  // y_c = x_c r w_c with r = (mean(x²) + eps)^(-1/2):
  //   dx_c = r w_c dy_c - x_c r³/C Σ_i dy_i w_i x_i,   dw_c = Σ_n dy_c x_c r.
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    const T* xr = x + int64_t(n) * C;
    const T* dyr = dy + int64_t(n) * C;
    T* dxr = dx + int64_t(n) * C;
    T r = rstd[n], dot = 0;
    for (int c = 0; c < C; ++c) dot += dyr[c] * w[c] * xr[c];
    T k = r * r * r * dot / T(C);
    for (int c = 0; c < C; ++c) dxr[c] += r * w[c] * dyr[c] - k * xr[c];
  }
  if (!dw) return;  // a frozen norm
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) dw[c] += dy[int64_t(n) * C + c] * x[int64_t(n) * C + c] * rstd[n];
}

// ---------------------------------------------------------------- rope

namespace {
// cos and sin of position t times frequency i, for t < Tn and i < d/2.
template <class T>
void rope_table(std::vector<T>& cosv, std::vector<T>& sinv, int Tn, int d, float theta, int pos0) {
  const int half = d / 2;
  cosv.resize(size_t(Tn) * half);
  sinv.resize(size_t(Tn) * half);
  for (int t = 0; t < Tn; ++t)
    for (int i = 0; i < half; ++i) {
      double freq = std::pow(double(theta), -2.0 * i / d);
      cosv[size_t(t) * half + i] = T(std::cos((pos0 + t) * freq));
      sinv[size_t(t) * half + i] = T(std::sin((pos0 + t) * freq));
    }
}

template <class T>
void rotate(T* x, int B, int Tn, int heads, int d, float theta, T sign, int pos0) {
  std::vector<T> cosv, sinv;
  rope_table(cosv, sinv, Tn, d, theta, pos0);
  const int half = d / 2;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < Tn; ++t)
      for (int h = 0; h < heads; ++h) {
        T* v = x + ((int64_t(b) * Tn + t) * heads + h) * d;
        const T* c = &cosv[size_t(t) * half];
        const T* s = &sinv[size_t(t) * half];
        for (int i = 0; i < half; ++i) {
          T x1 = v[i], x2 = v[i + half], sn = sign * s[i];
          v[i] = x1 * c[i] - x2 * sn;
          v[i + half] = x2 * c[i] + x1 * sn;
        }
      }
}
}  // namespace

template <class T>
void rope_forward(T* x, int B, int Tn, int heads, int d, float theta, int pos0) {
  rotate(x, B, Tn, heads, d, theta, T(1), pos0);
}

template <class T>
void rope_backward(T* dx, int B, int Tn, int heads, int d, float theta) {
  rotate(dx, B, Tn, heads, d, theta, T(-1), 0);
}

// ---------------------------------------------------------------- attention
//
// Per (batch, head), with Q, K, V the head's rows (strided views, no copies):
//   S = Q Kᵀ / sqrt(d), P = softmax(S) over s <= t (causal), O = P V.
// The products are GEMMs (each task runs single-threaded BLAS: OpenBLAS does not nest
// threads inside an OpenMP region); the masked upper half of S is computed and zeroed,
// which wastes a little arithmetic but keeps every product a plain GEMM.

template <class T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, int B, int Tn, int H, int Hkv, int d) {
  attention_forward_past(out, att, q, k, v, B, Tn, Tn, H, Hkv, d);
}

// Query row t is position t + past: it reads keys s <= t + past.
template <class T>
void attention_forward_past(T* out, T* att, const T* q, const T* k, const T* v, int B, int Tq, int Tk, int H, int Hkv,
                            int d) {
  const T scale = T(1) / std::sqrt(T(d));
  const int group = H / Hkv, past = Tk - Tq;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int kh = h / group;
      const T* Q = q + (int64_t(b) * Tq * H + h) * d;
      const T* K = k + (int64_t(b) * Tk * Hkv + kh) * d;
      const T* V = v + (int64_t(b) * Tk * Hkv + kh) * d;
      T* P = att + (int64_t(b) * H + h) * Tq * Tk;
      gemm(false, true, Tq, Tk, d, scale, Q, H * d, K, Hkv * d, T(0), P, Tk);
      for (int t = 0; t < Tq; ++t) {
        T* a = P + int64_t(t) * Tk;
        const int last = t + past;
        T mx = a[0];
        for (int s = 1; s <= last; ++s) mx = std::max(mx, a[s]);
        T sum = 0;
        for (int s = 0; s <= last; ++s) sum += (a[s] = std::exp(a[s] - mx));
        const T inv = T(1) / sum;
        for (int s = 0; s <= last; ++s) a[s] *= inv;
        for (int s = last + 1; s < Tk; ++s) a[s] = 0;
      }
      gemm(false, false, Tq, d, Tk, T(1), P, Tk, V, Hkv * d, T(0), out + (int64_t(b) * Tq * H + h) * d, H * d);
    }
}

template <class T>
void attention_backward(T* dq, T* dk, T* dv, T* datt, const T* dout, const T* q, const T* k, const T* v,
                        const T* att, int B, int Tn, int H, int Hkv, int d) {
  const T scale = T(1) / std::sqrt(T(d));
  const int group = H / Hkv;
  // One task per (batch, key/value head): the query heads of a group all add into the
  // same dK and dV, so they run in one task, in a fixed order.
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int kh = 0; kh < Hkv; ++kh) {
      const T* K = k + (int64_t(b) * Tn * Hkv + kh) * d;
      const T* V = v + (int64_t(b) * Tn * Hkv + kh) * d;
      T* dK = dk + (int64_t(b) * Tn * Hkv + kh) * d;
      T* dV = dv + (int64_t(b) * Tn * Hkv + kh) * d;
      for (int s = 0; s < Tn; ++s)
        for (int i = 0; i < d; ++i) dK[int64_t(s) * Hkv * d + i] = dV[int64_t(s) * Hkv * d + i] = 0;
      for (int h = kh * group; h < (kh + 1) * group; ++h) {
        const T* Q = q + (int64_t(b) * Tn * H + h) * d;
        const T* dO = dout + (int64_t(b) * Tn * H + h) * d;
        const T* P = att + (int64_t(b) * H + h) * Tn * Tn;
        T* dP = datt + (int64_t(b) * H + h) * Tn * Tn;
        // O = P V:  dV += Pᵀ dO,  dP = dO Vᵀ
        gemm(true, false, Tn, d, Tn, T(1), P, Tn, dO, H * d, T(1), dV, Hkv * d);
        gemm(false, true, Tn, Tn, d, T(1), dO, H * d, V, Hkv * d, T(0), dP, Tn);
        // softmax: dS = P ⊙ (dP - Σ_s P dP), times the 1/sqrt(d) of S
        for (int t = 0; t < Tn; ++t) {
          const T* a = P + int64_t(t) * Tn;
          T* g = dP + int64_t(t) * Tn;
          T dot = 0;
          for (int s = 0; s <= t; ++s) dot += a[s] * g[s];
          for (int s = 0; s <= t; ++s) g[s] = a[s] * (g[s] - dot) * scale;
          for (int s = t + 1; s < Tn; ++s) g[s] = 0;
        }
        // S = Q Kᵀ:  dQ = dS K,  dK += dSᵀ Q
        gemm(false, false, Tn, d, Tn, T(1), dP, Tn, K, Hkv * d, T(0), dq + (int64_t(b) * Tn * H + h) * d, H * d);
        gemm(true, false, Tn, d, Tn, T(1), dP, Tn, Q, H * d, T(1), dK, Hkv * d);
      }
    }
}

// ---------------------------------------------------------------- swiglu

template <class T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T sig = T(1) / (T(1) + std::exp(-g[i]));
    h[i] = g[i] * sig * u[i];
  }
}

template <class T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    T sig = T(1) / (T(1) + std::exp(-g[i]));
    T silu = g[i] * sig;
    du[i] = dh[i] * silu;
    dg[i] = dh[i] * u[i] * sig * (T(1) + g[i] * (T(1) - sig));
  }
}

// ---------------------------------------------------------------- cross-entropy

namespace {
// The mean of the per-row losses over rows whose target is not ignored, summed in row
// order so that the result never depends on the thread count.
double mean_counted(const std::vector<double>& row_loss, const int32_t* targets, int N, int* counted,
                    const float* weights) {
  double total = 0, wsum = 0;
  int c = 0;
  for (int n = 0; n < N; ++n)
    if (targets[n] >= 0) {
      const double w = weights ? weights[n] : 1.0;
      total += w * row_loss[size_t(n)], wsum += w, ++c;
    }
  if (counted) *counted = c;
  return wsum > 0 ? total / wsum : 0.0;
}
}  // namespace

template <class T>
double cross_entropy_forward_backward(T* logits, const int32_t* targets, int N, int V, double grad_scale,
                                      int* counted, const float* weights) {
  std::vector<double> row_loss(size_t(N), 0.0);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* z = logits + int64_t(n) * V;
    if (targets[n] < 0) {
      for (int j = 0; j < V; ++j) z[j] = 0;
      continue;
    }
    T mx = z[0];
    for (int j = 1; j < V; ++j) mx = std::max(mx, z[j]);
    const T target_logit = z[targets[n]];
    double sum = 0;  // exponentials in T (vectorised), their sum in double
    for (int j = 0; j < V; ++j) sum += double(z[j] = std::exp(z[j] - mx));
    row_loss[size_t(n)] = std::log(sum) + double(mx) - double(target_logit);
    const double scale = weights ? grad_scale * weights[n] : grad_scale;
    const T k = T(scale / sum);
    for (int j = 0; j < V; ++j) z[j] *= k;
    z[targets[n]] -= T(scale);
  }
  return mean_counted(row_loss, targets, N, counted, weights);
}

template <class T>
double cross_entropy_loss(const T* logits, const int32_t* targets, int N, int V, int* counted, const float* weights) {
  std::vector<double> row_loss(size_t(N), 0.0);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    if (targets[n] < 0) continue;
    const T* z = logits + int64_t(n) * V;
    T mx = z[0];
    for (int j = 1; j < V; ++j) mx = std::max(mx, z[j]);
    double sum = 0;
    for (int j = 0; j < V; ++j) sum += std::exp(double(z[j] - mx));
    row_loss[size_t(n)] = std::log(sum) + double(mx) - double(z[targets[n]]);
  }
  return mean_counted(row_loss, targets, N, counted, weights);
}

// ---------------------------------------------------------------- instantiations

#define SLM_OPS(T)                                                                                       \
  template void matmul_forward<T>(T*, const T*, const T*, int, int, int, Precision);                     \
  template void matmul_backward<T>(T*, T*, const T*, const T*, const T*, int, int, int, Precision);      \
  template void embedding_forward<T>(T*, const int32_t*, const T*, int, int);                            \
  template void embedding_backward<T>(T*, const int32_t*, const T*, int, int);                           \
  template void rmsnorm_forward<T>(T*, T*, const T*, const T*, int, int, float);                         \
  template void rmsnorm_backward<T>(T*, T*, const T*, const T*, const T*, const T*, int, int);           \
  template void rope_forward<T>(T*, int, int, int, int, float, int);                                     \
  template void rope_backward<T>(T*, int, int, int, int, float);                                         \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, int, int, int, int, int);     \
  template void attention_forward_past<T>(T*, T*, const T*, const T*, const T*, int, int, int, int, int, \
                                          int);                                                          \
  template void attention_backward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*, const T*,  \
                                      int, int, int, int, int);                                          \
  template void swiglu_forward<T>(T*, const T*, const T*, int64_t);                                      \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, int64_t);                       \
  template double cross_entropy_forward_backward<T>(T*, const int32_t*, int, int, double, int*,         \
                                                    const float*);                                       \
  template double cross_entropy_loss<T>(const T*, const int32_t*, int, int, int*, const float*);
SLM_OPS(float)
SLM_OPS(double)

}  // namespace slm::tensor
