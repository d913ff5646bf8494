#include "slm/model/transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "slm/tensor/ops.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::model {

using namespace slm::tensor;

template <class T>
Transformer<T>::Transformer(const ModelConfig& cfg) : cfg_(cfg), layout_(cfg) {
  cfg_.validate("model config");
  params_.assign(size_t(layout_.total), T(0));
  frozen_.assign(layout_.tensors.size(), 0);
  moe_.resize(size_t(cfg_.n_layers));
  expert_load_.resize(size_t(cfg_.n_layers));
  for (int l = 0; l < cfg_.n_layers; ++l)
    if (cfg_.moe_layer(l)) {
      moe_[size_t(l)] = MoeLayer<T>(cfg_, layout_, l);
      expert_load_[size_t(l)].assign(size_t(cfg_.n_experts), 0);
    }
}

template <class T>
T* Transformer<T>::grads_data() {
  if (grads_.empty()) grads_.assign(size_t(layout_.total), T(0));
  return grads_.data();
}

template <class T>
void Transformer<T>::linear_backward(T* dx, int w, const T* dy, const T* x, int in, int out) {
  const int N = B_ * T_;
  matmul_backward(dx, wgrad(w), dy, x, param(w), N, in, out, prec_);
  if (on_linear_backward) on_linear_backward(w, x, dy, dx, N);
}

template <class T>
void Transformer<T>::linear_forward(T* y, const T* x, int w, int N, int in, int out) {
  matmul_forward(y, x, param(w), N, in, out, prec_);
  if (on_linear_forward) on_linear_forward(w, x, y, N);
}

template <class T>
void Transformer<T>::keep(std::vector<uint16_t>& half, size_t n) {
  if constexpr (std::is_same_v<T, float>)
    if (bf16_acts_) tensor::to_bf16(half.data(), stash_.data(), int64_t(n));
}

template <class T>
const T* Transformer<T>::product_input_again(const std::vector<T>& own, const std::vector<uint16_t>& half, size_t n) {
  if constexpr (std::is_same_v<T, float>)
    if (bf16_acts_) {
      tensor::from_bf16(stash_.data(), half.data(), int64_t(n));
      return stash_.data();
    }
  return own.data();
}

template <class T>
void Transformer<T>::add_expert_load() {
  for (int l = 0; l < cfg_.n_layers; ++l)
    if (cfg_.moe_layer(l))
      for (int e = 0; e < cfg_.n_experts; ++e) expert_load_[size_t(l)][size_t(e)] += moe_[size_t(l)].counts()[size_t(e)];
}

template <class T>
std::vector<std::vector<int64_t>> Transformer<T>::take_expert_load() {
  auto load = expert_load_;
  for (auto& row : expert_load_) std::fill(row.begin(), row.end(), 0);
  return load;
}

template <class T>
void Transformer<T>::init_weights(uint64_t seed) {
  Rng rng(seed);
  const double out_scale = 1.0 / std::sqrt(2.0 * cfg_.n_layers);
  for (size_t i = 0; i < layout_.tensors.size(); ++i) {
    const auto& t = layout_.tensors[i];
    T* p = params_.data() + t.offset;
    if (t.shape.size() == 1) {  // norm weights
      std::fill(p, p + t.size, T(1));
      continue;
    }
    bool output_proj = t.name.find("o_proj") != std::string::npos || t.name.find("down_proj") != std::string::npos ||
                       t.name.find(".w2.") != std::string::npos;  // an expert's down projection
    double std = 0.02 * (output_proj ? out_scale : 1.0);
    for (int64_t j = 0; j < t.size; j += 2) {  // Box-Muller, two normals at a time
      double u1 = rng.uniform() + 1e-300, u2 = rng.uniform();
      double r = std::sqrt(-2.0 * std::log(u1));
      p[j] = T(std * r * std::cos(2 * M_PI * u2));
      if (j + 1 < t.size) p[j + 1] = T(std * r * std::sin(2 * M_PI * u2));
    }
  }
}

template <class T>
int64_t Transformer<T>::activation_bytes(const ModelConfig& c, int B, int Tn, tensor::Precision p) {
  const int64_t N = int64_t(B) * Tn, C = c.dim, KV = c.kv_dim(), F = c.hidden_dim;
  // x_in, q, x_mid; k, v; the norms' 1/rms; attention's probabilities; swiglu's g and u.
  const int64_t per_layer = 3 * N * C + 2 * N * KV + 2 * N + int64_t(B) * c.n_heads * Tn * Tn + 2 * N * F;
  const int64_t product_inputs = 3 * N * C + N * F;  // xn1, a, xn2, h
  const int64_t scratch = 4 * N * C + 2 * N * KV + int64_t(B) * c.n_heads * Tn * Tn + 3 * N * F;
  const int64_t rest = 2 * N * C + N + N * c.vocab_size;  // the last layer's output, its norm, the logits
  const bool bf16 = std::is_same_v<T, float> && p == tensor::Precision::bf16;
  const int64_t kept = bf16 ? 2 * c.n_layers * product_inputs + int64_t(sizeof(T)) * N * std::max(C, F)  // + stash_
                            : int64_t(sizeof(T)) * c.n_layers * product_inputs;
  return int64_t(sizeof(T)) * (c.n_layers * per_layer + scratch + rest) + kept;
}

template <class T>
int64_t Transformer<T>::buffer_bytes() const {
  auto bytes = [](const auto&... v) { return (int64_t(v.size() * sizeof(v[0])) + ...); };
  int64_t total = bytes(x_out_, xnf_, rstdf_, logits_, dx_, dxn_, dq_, dk_, dv_, da_, datt_, dg_, du_, dh_, stash_);
  for (const auto& a : acts_)
    total += bytes(a.x_in, a.xn1, a.rstd1, a.q, a.k, a.v, a.att, a.a, a.x_mid, a.xn2, a.rstd2, a.g, a.u, a.h,
                   a.xn1_16, a.a_16, a.xn2_16, a.h_16);
  return total;
}

template <class T>
void Transformer<T>::ensure_buffers(int B, int Tn) {
  if (Tn > cfg_.context)
    throw Error("sequence of " + std::to_string(Tn) + " tokens is longer than the model's context of " +
                std::to_string(cfg_.context));
  if (B * Tn <= B_ * T_ && B <= B_ && Tn <= T_) {
    B_ = B, T_ = Tn;
    return;
  }
  B_ = B, T_ = Tn;
  const size_t N = size_t(B) * Tn, C = size_t(cfg_.dim), KV = size_t(cfg_.kv_dim()), F = size_t(cfg_.hidden_dim);
  const size_t att = size_t(B) * cfg_.n_heads * Tn * Tn;
  bf16_acts_ = std::is_same_v<T, float> && prec_ == tensor::Precision::bf16;
  const size_t own = bf16_acts_ ? 0 : 1, half = bf16_acts_ ? 1 : 0;  // which copy the product inputs use
  acts_.resize(size_t(cfg_.n_layers));
  for (auto& a : acts_) {
    a.x_in.resize(N * C), a.xn1.resize(own * N * C), a.rstd1.resize(N);
    a.q.resize(N * C), a.k.resize(N * KV), a.v.resize(N * KV), a.att.resize(att), a.a.resize(own * N * C);
    a.x_mid.resize(N * C), a.xn2.resize(own * N * C), a.rstd2.resize(N);
    a.g.resize(N * F), a.u.resize(N * F), a.h.resize(own * N * F);
    a.xn1_16.resize(half * N * C), a.a_16.resize(half * N * C), a.xn2_16.resize(half * N * C), a.h_16.resize(half * N * F);
    if (bf16_acts_) a.xn1.shrink_to_fit(), a.a.shrink_to_fit(), a.xn2.shrink_to_fit(), a.h.shrink_to_fit();
  }
  stash_.resize(half * N * std::max(C, F));
  x_out_.resize(N * C), xnf_.resize(N * C), rstdf_.resize(N), logits_.resize(N * size_t(cfg_.vocab_size));
  dx_.resize(N * C), dxn_.resize(N * C), dq_.resize(N * C), dk_.resize(N * KV), dv_.resize(N * KV);
  da_.resize(N * C), datt_.resize(att), dg_.resize(N * F), du_.resize(N * F), dh_.resize(N * F);
}

template <class T>
void Transformer<T>::forward(const int32_t* inputs, int B, int Tn) {
  forward_body(inputs, B, Tn);
  // logits = W_out · rmsnorm(x)
  const int head = layout_.output_head();
  matmul_forward(logits_.data(), xnf_.data(), param(head), B * Tn, cfg_.dim, cfg_.vocab_size, prec_);
}

template <class T>
void Transformer<T>::forward_body(const int32_t* inputs, int B, int Tn) {
  ensure_buffers(B, Tn);
  const int N = B * Tn, C = cfg_.dim, V = cfg_.vocab_size;
  for (int n = 0; n < N; ++n)
    if (inputs[n] < 0 || inputs[n] >= V)
      throw Error("token id " + std::to_string(inputs[n]) + " is outside the model's vocabulary of " + std::to_string(V));

  // x = embed[tokens]
  embedding_forward(acts_[0].x_in.data(), inputs, param(layout_.embed), N, C);
  if (hook_) hook_->at(Site::embed, 0, acts_[0].x_in.data(), B, Tn);
  forward_layers(0, B, Tn, nullptr);
}

template <class T>
void Transformer<T>::forward_hidden_resumed(const Resume& r, int B, int Tn) {
  const int L = cfg_.n_layers;
  if (r.layer < 0 || r.layer > L) throw Error("a resumed forward starts at layer " + std::to_string(r.layer) + " of " + std::to_string(L));
  if (r.past < 0 || r.past + Tn > cfg_.context)
    throw Error("a resumed forward's " + std::to_string(r.past + Tn) + " positions exceed the model's context of " +
                std::to_string(cfg_.context));
  if (r.past > 0 && (int(r.keys.size()) < L || int(r.values.size()) < L))
    throw Error("a resumed forward after earlier positions needs their keys and values at every layer");
  ensure_buffers(B, Tn);
  T* x = r.layer < L ? acts_[size_t(r.layer)].x_in.data() : x_out_.data();
  std::copy_n(r.x, size_t(B) * Tn * cfg_.dim, x);
  forward_layers(r.layer, B, Tn, &r);
}

template <class T>
void Transformer<T>::forward_layers(int l0, int B, int Tn, const Resume* r) {
  const int N = B * Tn, C = cfg_.dim, KV = cfg_.kv_dim(), F = cfg_.hidden_dim;
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim();
  const int past = r ? r->past : 0, Tk = past + Tn;
  aux_loss_ = 0;
  for (int l = l0; l < cfg_.n_layers; ++l) {
    auto& A = acts_[size_t(l)];
    const auto& L = layout_.layers[size_t(l)];
    // Attention block: x_mid = x + Wo · attention(rope(Wq·xn), rope(Wk·xn), Wv·xn), xn = rmsnorm(x)
    const size_t NC = size_t(N) * C, NF = size_t(N) * F;
    T* xn1 = product_input(A.xn1);
    rmsnorm_forward(xn1, A.rstd1.data(), A.x_in.data(), param(L.attn_norm), N, C, cfg_.norm_eps);
    linear_forward(A.q.data(), xn1, L.wq, N, C, C);
    linear_forward(A.k.data(), xn1, L.wk, N, C, KV);
    linear_forward(A.v.data(), xn1, L.wv, N, C, KV);
    keep(A.xn1_16, NC);
    rope_forward(A.q.data(), B, Tn, H, d, cfg_.rope_theta, past);
    rope_forward(A.k.data(), B, Tn, Hkv, d, cfg_.rope_theta, past);
    T* att = A.att.data();
    T* a = product_input(A.a);
    if (past == 0) {
      attention_forward(a, att, A.q.data(), A.k.data(), A.v.data(), B, Tn, H, Hkv, d);
    } else {  // each window's keys and values: the earlier positions', then its own
      k_past_.resize(size_t(B) * Tk * KV), v_past_.resize(k_past_.size()), att_past_.resize(size_t(B) * H * Tn * Tk);
      for (int b = 0; b < B; ++b) {
        const size_t before = size_t(past) * KV, own = size_t(Tn) * KV, at = size_t(b) * Tk * KV;
        std::copy_n(r->keys[size_t(l)] + b * before, before, k_past_.data() + at);
        std::copy_n(r->values[size_t(l)] + b * before, before, v_past_.data() + at);
        std::copy_n(A.k.data() + b * own, own, k_past_.data() + at + before);
        std::copy_n(A.v.data() + b * own, own, v_past_.data() + at + before);
      }
      att = att_past_.data();
      attention_forward_past(a, att, A.q.data(), k_past_.data(), v_past_.data(), B, Tn, Tk, H, Hkv, d);
    }
    if (hook_) hook_->at(Site::attn_probs, l, att, B, Tn), hook_->at(Site::attn_heads, l, a, B, Tn);
    linear_forward(A.x_mid.data(), a, L.wo, N, C, C);
    keep(A.a_16, NC);
    if (hook_) hook_->at(Site::attn_out, l, A.x_mid.data(), B, Tn);
    for (size_t i = 0; i < size_t(N) * C; ++i) A.x_mid[i] += A.x_in[i];
    // MLP block: x_out = x_mid + Wdown · (silu(Wgate·xn) * (Wup·xn)), xn = rmsnorm(x_mid)
    T* xn2 = product_input(A.xn2);
    rmsnorm_forward(xn2, A.rstd2.data(), A.x_mid.data(), param(L.mlp_norm), N, C, cfg_.norm_eps);
    keep(A.xn2_16, NC);  // a copy: xn2 stays in stash_ for the products below
    T* out = l + 1 < cfg_.n_layers ? acts_[size_t(l) + 1].x_in.data() : x_out_.data();
    if (cfg_.moe_layer(l)) {  // this layer's MLP is a mixture of experts
      aux_loss_ += moe_[size_t(l)].forward(out, xn2, N, params_.data(), prec_);
    } else {
      linear_forward(A.g.data(), xn2, L.w_gate, N, C, F);
      linear_forward(A.u.data(), xn2, L.w_up, N, C, F);
      T* h = product_input(A.h);
      swiglu_forward(h, A.g.data(), A.u.data(), int64_t(NF));
      linear_forward(out, h, L.w_down, N, F, C);
      keep(A.h_16, NF);
    }
    if (hook_) hook_->at(Site::mlp_out, l, out, B, Tn);
    for (size_t i = 0; i < size_t(N) * C; ++i) out[i] += A.x_mid[i];
    if (hook_) hook_->at(Site::resid, l, out, B, Tn);
  }
  rmsnorm_forward(xnf_.data(), rstdf_.data(), x_out_.data(), param(layout_.final_norm), N, C, cfg_.norm_eps);
}

template <class T>
std::vector<int32_t> Transformer<T>::sparse_rows(const int32_t* targets, int N) const {
  std::vector<int32_t> rows;
  for (int n = 0; n < N; ++n)
    if (targets[n] >= 0) rows.push_back(n);
  // The head is a fair share of the work (vocab x dim a row); below 3/4 of the rows,
  // gathering them first is cheaper than computing logits nobody reads.
  if (rows.size() * 4 >= size_t(N) * 3) rows.clear();
  return rows;
}

template <class T>
void Transformer<T>::head_forward_rows(const std::vector<int32_t>& rows, const int32_t* targets, const float* weights) {
  const size_t C = size_t(cfg_.dim), M = rows.size();
  xsel_.resize(M * C);
  tsel_.resize(M);
  wsel_.resize(weights ? M : 0);
  for (size_t i = 0; i < M; ++i) {
    std::copy_n(xnf_.data() + size_t(rows[i]) * C, C, xsel_.data() + i * C);
    tsel_[i] = targets[rows[i]];
    if (weights) wsel_[i] = weights[rows[i]];
  }
  const int head = layout_.output_head();
  matmul_forward(logits_.data(), xsel_.data(), param(head), int(M), cfg_.dim, cfg_.vocab_size, prec_);
}

template <class T>
double Transformer<T>::loss(const int32_t* inputs, const int32_t* targets, int B, int Tn, const float* weights) {
  const int N = B * Tn;
  auto rows = sparse_rows(targets, N);
  if (rows.empty()) {
    forward(inputs, B, Tn);
    return cross_entropy_loss(logits_.data(), targets, N, cfg_.vocab_size, nullptr, weights);
  }
  forward_body(inputs, B, Tn);
  head_forward_rows(rows, targets, weights);
  return cross_entropy_loss(logits_.data(), tsel_.data(), int(rows.size()), cfg_.vocab_size, nullptr,
                            weights ? wsel_.data() : nullptr);
}

template <class T>
double Transformer<T>::forward_backward(const int32_t* inputs, const int32_t* targets, int B, int Tn,
                                        double grad_scale, int* counted, const float* weights) {
  const int N = B * Tn;
  auto rows = sparse_rows(targets, N);
  double l;
  // The logits become dloss/dlogits in the same sweep.
  if (rows.empty()) {
    forward(inputs, B, Tn);
    l = cross_entropy_forward_backward(logits_.data(), targets, N, cfg_.vocab_size, grad_scale, counted, weights);
  } else {
    forward_body(inputs, B, Tn);
    head_forward_rows(rows, targets, weights);
    l = cross_entropy_forward_backward(logits_.data(), tsel_.data(), int(rows.size()), cfg_.vocab_size, grad_scale,
                                       counted, weights ? wsel_.data() : nullptr);
  }
  add_expert_load();
  aux_scale_ = grad_scale * N;  // the aux losses are means over this batch's N tokens
  backward(inputs, rows);
  return l + aux_loss_;
}

template <class T>
double Transformer<T>::forward_backward_logits(const int32_t* inputs, int B, int Tn,
                                               const std::function<double(T* logits)>& head_loss,
                                               double grad_scale) {
  forward(inputs, B, Tn);
  const double l = head_loss(logits_.data());
  add_expert_load();
  aux_scale_ = grad_scale * B * Tn;  // the aux losses are means over this batch's tokens
  backward(inputs, {});
  return grad_scale > 0 ? l + aux_loss_ : l;
}

template <class T>
void Transformer<T>::backward(const int32_t* inputs, const std::vector<int32_t>& rows) {
  const int B = B_, Tn = T_, N = B * Tn, C = cfg_.dim, KV = cfg_.kv_dim(), F = cfg_.hidden_dim, V = cfg_.vocab_size;
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim();
  const size_t NC = size_t(N) * C;
  // logits = xnf · W_outᵀ ; xnf = rmsnorm(x_out). Rows without a target get no gradient.
  const int head = layout_.output_head();
  std::fill(dxn_.begin(), dxn_.begin() + long(NC), T(0));
  if (rows.empty()) {
    matmul_backward(dxn_.data(), wgrad(head), logits_.data(), xnf_.data(), param(head), N, C, V, prec_);
  } else {
    const int M = int(rows.size());
    dxsel_.assign(size_t(M) * C, T(0));
    matmul_backward(dxsel_.data(), wgrad(head), logits_.data(), xsel_.data(), param(head), M, C, V, prec_);
    for (int i = 0; i < M; ++i)
      std::copy_n(dxsel_.data() + size_t(i) * C, C, dxn_.data() + size_t(rows[size_t(i)]) * C);
  }
  std::fill(dx_.begin(), dx_.begin() + long(NC), T(0));
  rmsnorm_backward(dx_.data(), wgrad(layout_.final_norm), dxn_.data(), x_out_.data(), param(layout_.final_norm),
                   rstdf_.data(), N, C);
  // dx_ now holds dL/dx at the output of the last layer; walk the layers backwards.
  for (int l = cfg_.n_layers - 1; l >= 0; --l) {
    auto& A = acts_[size_t(l)];
    const auto& L = layout_.layers[size_t(l)];
    // x_out = x_mid + down(h): dx_ flows on to x_mid unchanged, and into the MLP.
    std::fill(dxn_.begin(), dxn_.begin() + long(NC), T(0));
    if (cfg_.moe_layer(l)) {
      const T* xn2 = product_input_again(A.xn2, A.xn2_16, NC);
      moe_[size_t(l)].backward(dxn_.data(), dx_.data(), xn2, params_.data(), grads_data(), aux_scale_, prec_);
    } else {
      std::fill(dh_.begin(), dh_.begin() + long(size_t(N) * F), T(0));
      linear_backward(dh_.data(), L.w_down, dx_.data(), product_input_again(A.h, A.h_16, size_t(N) * F), F, C);
      swiglu_backward(dg_.data(), du_.data(), dh_.data(), A.g.data(), A.u.data(), int64_t(N) * F);
      const T* xn2 = product_input_again(A.xn2, A.xn2_16, NC);
      linear_backward(dxn_.data(), L.w_gate, dg_.data(), xn2, C, F);
      linear_backward(dxn_.data(), L.w_up, du_.data(), xn2, C, F);
    }
    rmsnorm_backward(dx_.data(), wgrad(L.mlp_norm), dxn_.data(), A.x_mid.data(), param(L.mlp_norm), A.rstd2.data(),
                     N, C);
    // x_mid = x_in + o(attention): dx_ flows on to x_in, and into attention.
    std::fill(da_.begin(), da_.begin() + long(NC), T(0));
    linear_backward(da_.data(), L.wo, dx_.data(), product_input_again(A.a, A.a_16, NC), C, C);
    attention_backward(dq_.data(), dk_.data(), dv_.data(), datt_.data(), da_.data(), A.q.data(), A.k.data(),
                       A.v.data(), A.att.data(), B, Tn, H, Hkv, d);
    rope_backward(dq_.data(), B, Tn, H, d, cfg_.rope_theta);
    rope_backward(dk_.data(), B, Tn, Hkv, d, cfg_.rope_theta);
    std::fill(dxn_.begin(), dxn_.begin() + long(NC), T(0));
    const T* xn1 = product_input_again(A.xn1, A.xn1_16, NC);
    linear_backward(dxn_.data(), L.wq, dq_.data(), xn1, C, C);
    linear_backward(dxn_.data(), L.wk, dk_.data(), xn1, C, KV);
    linear_backward(dxn_.data(), L.wv, dv_.data(), xn1, C, KV);
    rmsnorm_backward(dx_.data(), wgrad(L.attn_norm), dxn_.data(), A.x_in.data(), param(L.attn_norm), A.rstd1.data(),
                     N, C);
    if (on_layer_grads) on_layer_grads(l);
  }
  if (!frozen(layout_.embed)) embedding_backward(grad(layout_.embed), inputs, dx_.data(), N, C);
}

template <class T>
void Transformer<T>::zero_grad() {
  std::fill(grads_.begin(), grads_.end(), T(0));  // nothing to clear before the first use
}

template class Transformer<float>;
template class Transformer<double>;

}  // namespace slm::model
