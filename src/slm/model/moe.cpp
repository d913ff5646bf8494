#include "slm/model/moe.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "slm/tensor/ops.h"

namespace slm::model {

using namespace slm::tensor;

template <class T>
MoeLayer<T>::MoeLayer(const ModelConfig& c, const ParamLayout& layout, int layer)
    : c_(c), E_(c.n_experts), K_(c.experts_per_token), C_(c.dim), Fe_(c.expert_dim()),
      Fs_(c.n_shared_experts * c.expert_dim()) {
  const MoeIndex& M = layout.moe[size_t(layer)];
  auto off = [&](int i) { return i < 0 ? int64_t(-1) : layout.tensors[size_t(i)].offset; };
  router_ = off(M.router);
  for (int e = 0; e < E_; ++e) {
    w_gate_.push_back(off(M.w_gate[size_t(e)]));
    w_up_.push_back(off(M.w_up[size_t(e)]));
    w_down_.push_back(off(M.w_down[size_t(e)]));
  }
  s_gate_ = off(M.s_gate), s_up_ = off(M.s_up), s_down_ = off(M.s_down);
  counts_.assign(size_t(E_), 0);
  share_.assign(size_t(E_), 0.0);
}

// Router logits, probabilities, the top-k choice with its gates, capacity drops and the
// two aux losses.
template <class T>
void MoeLayer<T>::route(const T* params, const T* xn, int N) {
  const size_t E = size_t(E_), K = size_t(K_);
  logits_.resize(size_t(N) * E), probs_.resize(size_t(N) * E), lse_.resize(size_t(N));
  choice_.resize(size_t(N) * K), kept_.resize(size_t(N) * K), gate_.resize(size_t(N) * K);
  matmul_forward(logits_.data(), xn, params + router_, N, C_, E_, Precision::fp32);
  std::vector<int> order(E);
  std::fill(share_.begin(), share_.end(), 0.0);
  std::fill(counts_.begin(), counts_.end(), 0);
  // Dropless unless a capacity factor is set: then an expert takes the first `cap` slots.
  const int64_t cap = c_.capacity_factor > 0
                          ? int64_t(std::ceil(double(c_.capacity_factor) * N * K_ / E_))
                          : int64_t(N) * K_;
  double z = 0;
  std::vector<double> mean_p(E, 0.0);
  for (int n = 0; n < N; ++n) {
    const T* r = logits_.data() + size_t(n) * E;
    T* p = probs_.data() + size_t(n) * E;
    const T m = *std::max_element(r, r + E);
    double s = 0;
    for (size_t e = 0; e < E; ++e) s += std::exp(double(r[e] - m));
    lse_[size_t(n)] = T(double(m) + std::log(s));
    for (size_t e = 0; e < E; ++e) p[e] = T(std::exp(double(r[e] - m)) / s), mean_p[e] += double(p[e]) / N;
    z += double(lse_[size_t(n)]) * double(lse_[size_t(n)]) / N;
    // The k largest logits, ties to the lower index (a stable order).
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + long(K), order.end(),
                      [&](int a, int b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
    int* ch = choice_.data() + size_t(n) * K;
    T* g = gate_.data() + size_t(n) * K;
    double gs = 0;
    for (size_t j = 0; j < K; ++j) {
      ch[j] = order[j];
      share_[size_t(ch[j])] += 1.0 / (double(N) * K_);
      kept_[size_t(n) * K + j] = counts_[size_t(ch[j])] < cap;
      if (kept_[size_t(n) * K + j]) ++counts_[size_t(ch[j])];
      // topk_softmax: softmax over the chosen logits; softmax_topk: the full softmax's value.
      g[j] = c_.router == "topk_softmax" ? T(std::exp(double(r[ch[j]] - r[ch[0]]))) : p[ch[j]];
      gs += double(g[j]);
    }
    if (c_.router == "topk_softmax")
      for (size_t j = 0; j < K; ++j) g[j] = T(double(g[j]) / gs);
  }
  lb_ = 0;
  for (size_t e = 0; e < E; ++e) lb_ += double(E_) * share_[e] * mean_p[e];
  z_ = z;
}

// The routed (kept) slots grouped by expert, in token order within each expert.
template <class T>
void MoeLayer<T>::group(int N) {
  offset_.assign(size_t(E_) + 1, 0);
  for (int e = 0; e < E_; ++e) offset_[size_t(e) + 1] = offset_[size_t(e)] + int(counts_[size_t(e)]);
  const size_t rows = size_t(offset_[size_t(E_)]);
  row_token_.resize(rows), row_slot_.resize(rows);
  std::vector<int> next(offset_.begin(), offset_.end() - 1);
  for (int n = 0; n < N; ++n)
    for (int j = 0; j < K_; ++j) {
      const size_t s = size_t(n) * size_t(K_) + size_t(j);
      if (!kept_[s]) continue;
      const int row = next[size_t(choice_[s])]++;
      row_token_[size_t(row)] = n, row_slot_[size_t(row)] = int(s);
    }
}

template <class T>
double MoeLayer<T>::forward(T* out, const T* xn, int N, const T* params, Precision prec) {
  N_ = N;
  const size_t C = size_t(C_), Fe = size_t(Fe_);
  route(params, xn, N);
  group(N);
  const size_t rows = row_token_.size();
  xg_.resize(rows * C), g_.resize(rows * Fe), u_.resize(rows * Fe), h_.resize(rows * Fe), y_.resize(rows * C);
  for (size_t i = 0; i < rows; ++i) std::copy_n(xn + size_t(row_token_[i]) * C, C, xg_.data() + i * C);
  // Shared experts first: they write out; the routed experts add to it.
  if (Fs_ > 0) {
    const size_t Fs = size_t(Fs_);
    sg_.resize(size_t(N) * Fs), su_.resize(size_t(N) * Fs), sh_.resize(size_t(N) * Fs);
    matmul_forward(sg_.data(), xn, params + s_gate_, N, C_, Fs_, prec);
    matmul_forward(su_.data(), xn, params + s_up_, N, C_, Fs_, prec);
    swiglu_forward(sh_.data(), sg_.data(), su_.data(), int64_t(N) * Fs_);
    matmul_forward(out, sh_.data(), params + s_down_, N, Fs_, C_, prec);
  } else {
    std::fill(out, out + size_t(N) * C, T(0));
  }
  // Each expert: one SwiGLU over its rows, y = W2 · (silu(W1 x) * (W3 x)).
  for (int e = 0; e < E_; ++e) {
    const int r0 = offset_[size_t(e)], n_e = offset_[size_t(e) + 1] - r0;
    if (n_e == 0) continue;
    const size_t a = size_t(r0);
    matmul_forward(g_.data() + a * Fe, xg_.data() + a * C, params + w_gate_[size_t(e)], n_e, C_, Fe_, prec);
    matmul_forward(u_.data() + a * Fe, xg_.data() + a * C, params + w_up_[size_t(e)], n_e, C_, Fe_, prec);
    swiglu_forward(h_.data() + a * Fe, g_.data() + a * Fe, u_.data() + a * Fe, int64_t(n_e) * Fe_);
    matmul_forward(y_.data() + a * C, h_.data() + a * Fe, params + w_down_[size_t(e)], n_e, Fe_, C_, prec);
  }
  // out[token] += gate · y[row]
  for (size_t i = 0; i < rows; ++i) {
    const T gt = gate_[size_t(row_slot_[i])];
    T* o = out + size_t(row_token_[i]) * C;
    const T* y = y_.data() + i * C;
    for (size_t ch = 0; ch < C; ++ch) o[ch] += gt * y[ch];
  }
  return double(c_.router_aux_loss_coef) * lb_ + double(c_.router_z_loss_coef) * z_;
}

// dr[N,E] (overwritten) from the gates' gradient dgate[N,K] and the aux losses.
template <class T>
void MoeLayer<T>::gates_backward(T* dr, const T* dgate, int N, double aux_scale) const {
  const size_t E = size_t(E_), K = size_t(K_);
  const bool topk_first = c_.router == "topk_softmax";
  const double a = aux_scale * double(c_.router_aux_loss_coef) * E_ / N;
  const double b = aux_scale * double(c_.router_z_loss_coef) * 2.0 / N;
  std::vector<double> dp(E);
  for (int n = 0; n < N; ++n) {
    const T* p = probs_.data() + size_t(n) * E;
    const int* ch = choice_.data() + size_t(n) * K;
    const T* g = gate_.data() + size_t(n) * K;
    const T* dg = dgate + size_t(n) * K;
    T* d = dr + size_t(n) * E;
    // Through the full softmax: the balance loss (∂/∂pᵢ = a·fᵢ), and softmax_topk's gates.
    for (size_t e = 0; e < E; ++e) dp[e] = a * share_[e];
    if (!topk_first)
      for (size_t j = 0; j < K; ++j) dp[size_t(ch[j])] += double(dg[j]);
    double pdp = 0;
    for (size_t e = 0; e < E; ++e) pdp += double(p[e]) * dp[e];
    // z-loss: ∂ lse² / ∂rᵢ = 2 · lse · pᵢ.
    for (size_t e = 0; e < E; ++e)
      d[e] = T(double(p[e]) * (dp[e] - pdp) + b * double(lse_[size_t(n)]) * double(p[e]));
    if (topk_first) {  // the softmax over the chosen logits
      double gdg = 0;
      for (size_t j = 0; j < K; ++j) gdg += double(g[j]) * double(dg[j]);
      for (size_t j = 0; j < K; ++j) d[ch[j]] += T(double(g[j]) * (double(dg[j]) - gdg));
    }
  }
}

template <class T>
void MoeLayer<T>::backward(T* dxn, const T* dout, const T* xn, const T* params, T* grads, double aux_scale,
                           Precision prec) {
  const int N = N_;
  const size_t C = size_t(C_), Fe = size_t(Fe_), rows = row_token_.size();
  dy_.resize(rows * C), dh_.resize(rows * Fe), dg_.resize(rows * Fe), du_.resize(rows * Fe);
  dxg_.assign(rows * C, T(0));
  dgate_.assign(size_t(N) * size_t(K_), T(0));
  // out[token] += gate · y:  dy = gate · dout,  dgate = dout · y.
  for (size_t i = 0; i < rows; ++i) {
    const size_t s = size_t(row_slot_[i]);
    const T* d = dout + size_t(row_token_[i]) * C;
    const T* y = y_.data() + i * C;
    T dot = 0;
    for (size_t ch = 0; ch < C; ++ch) dy_[i * C + ch] = gate_[s] * d[ch], dot += d[ch] * y[ch];
    dgate_[s] = dot;
  }
  for (int e = 0; e < E_; ++e) {
    const int r0 = offset_[size_t(e)], n_e = offset_[size_t(e) + 1] - r0;
    if (n_e == 0) continue;
    const size_t a = size_t(r0);
    std::fill(dh_.begin() + long(a * Fe), dh_.begin() + long((a + size_t(n_e)) * Fe), T(0));
    matmul_backward(dh_.data() + a * Fe, grads + w_down_[size_t(e)], dy_.data() + a * C, h_.data() + a * Fe,
                    params + w_down_[size_t(e)], n_e, Fe_, C_, prec);
    swiglu_backward(dg_.data() + a * Fe, du_.data() + a * Fe, dh_.data() + a * Fe, g_.data() + a * Fe,
                    u_.data() + a * Fe, int64_t(n_e) * Fe_);
    matmul_backward(dxg_.data() + a * C, grads + w_gate_[size_t(e)], dg_.data() + a * Fe, xg_.data() + a * C,
                    params + w_gate_[size_t(e)], n_e, C_, Fe_, prec);
    matmul_backward(dxg_.data() + a * C, grads + w_up_[size_t(e)], du_.data() + a * Fe, xg_.data() + a * C,
                    params + w_up_[size_t(e)], n_e, C_, Fe_, prec);
  }
  for (size_t i = 0; i < rows; ++i) {
    T* d = dxn + size_t(row_token_[i]) * C;
    const T* s = dxg_.data() + i * C;
    for (size_t ch = 0; ch < C; ++ch) d[ch] += s[ch];
  }
  if (Fs_ > 0) {  // the shared experts, over every token
    const size_t Fs = size_t(Fs_);
    std::vector<T> dsh(size_t(N) * Fs, T(0)), dsg(size_t(N) * Fs), dsu(size_t(N) * Fs);
    matmul_backward(dsh.data(), grads + s_down_, dout, sh_.data(), params + s_down_, N, Fs_, C_, prec);
    swiglu_backward(dsg.data(), dsu.data(), dsh.data(), sg_.data(), su_.data(), int64_t(N) * Fs_);
    matmul_backward(dxn, grads + s_gate_, dsg.data(), xn, params + s_gate_, N, C_, Fs_, prec);
    matmul_backward(dxn, grads + s_up_, dsu.data(), xn, params + s_up_, N, C_, Fs_, prec);
  }
  dr_.resize(size_t(N) * size_t(E_));
  gates_backward(dr_.data(), dgate_.data(), N, aux_scale);
  matmul_backward(dxn, grads + router_, dr_.data(), xn, params + router_, N, C_, E_, Precision::fp32);
}

template class MoeLayer<float>;
template class MoeLayer<double>;

}  // namespace slm::model
