#include "slm/infer/engine.h"

#include <cmath>
#include <cstring>

#include "slm/tensor/ops.h"
#include "slm/util/error.h"

namespace slm::infer {

using namespace slm::tensor;

Engine::Engine(const model::Transformer<float>& m) : m_(m), cfg_(m.config()) {
  const size_t per_layer = size_t(cfg_.context) * size_t(cfg_.kv_dim());
  k_cache_.assign(per_layer * size_t(cfg_.n_layers), 0.f);
  v_cache_.assign(per_layer * size_t(cfg_.n_layers), 0.f);
  logits_.resize(size_t(cfg_.vocab_size));
}

const float* Engine::feed(const uint32_t* tokens, int n) {
  const int C = cfg_.dim, KV = cfg_.kv_dim(), F = cfg_.hidden_dim, V = cfg_.vocab_size;
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim(), group = H / Hkv;
  if (n < 1) throw Error("nothing to feed the model");
  if (pos_ + n > cfg_.context)
    throw Error("the context is full: " + std::to_string(pos_ + n) + " tokens, the model holds " +
                std::to_string(cfg_.context));
  const auto& L = m_.layout();
  auto W = [&](int i) { return m_.params() + L.tensors[size_t(i)].offset; };
  const size_t N = size_t(n);
  x_.resize(N * C), xn_.resize(N * C), q_.resize(N * C), k_.resize(N * KV), v_.resize(N * KV), a_.resize(N * C);
  o_.resize(N * C), g_.resize(N * F), u_.resize(N * F), rstd_.resize(N);
  for (int i = 0; i < n; ++i) {
    if (tokens[i] >= uint32_t(V)) throw Error("token id " + std::to_string(tokens[i]) + " is outside the vocabulary");
    std::memcpy(&x_[size_t(i) * C], W(L.embed) + size_t(tokens[i]) * C, sizeof(float) * size_t(C));
  }
  const float scale = 1.f / std::sqrt(float(d));
  for (int l = 0; l < cfg_.n_layers; ++l) {
    const auto& Ly = L.layers[size_t(l)];
    float* kc = k_cache_.data() + size_t(l) * cfg_.context * KV;
    float* vc = v_cache_.data() + size_t(l) * cfg_.context * KV;
    // q, k, v of the new positions; k and v join the cache.
    rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), W(Ly.attn_norm), n, C, cfg_.norm_eps);
    matmul_forward(q_.data(), xn_.data(), W(Ly.wq), n, C, C);
    matmul_forward(k_.data(), xn_.data(), W(Ly.wk), n, C, KV);
    matmul_forward(v_.data(), xn_.data(), W(Ly.wv), n, C, KV);
    rope_forward(q_.data(), 1, n, H, d, cfg_.rope_theta, pos_);
    rope_forward(k_.data(), 1, n, Hkv, d, cfg_.rope_theta, pos_);
    std::memcpy(kc + size_t(pos_) * KV, k_.data(), sizeof(float) * N * KV);
    std::memcpy(vc + size_t(pos_) * KV, v_.data(), sizeof(float) * N * KV);
    // Each new position attends over every cached position up to itself.
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; ++i)
      for (int h = 0; h < H; ++h) {
        const int p = pos_ + i, kh = h / group;
        const float* qi = &q_[size_t(i) * C + size_t(h) * d];
        std::vector<float> scores(size_t(p) + 1);  // per task: tasks run in parallel
        float* s = scores.data();
        float mx = -INFINITY;
        for (int t = 0; t <= p; ++t) {
          const float* kt = kc + size_t(t) * KV + size_t(kh) * d;
          float dot = 0;
          for (int j = 0; j < d; ++j) dot += qi[j] * kt[j];
          s[t] = dot * scale;
          mx = std::max(mx, s[t]);
        }
        float sum = 0;
        for (int t = 0; t <= p; ++t) sum += (s[t] = std::exp(s[t] - mx));
        float* out = &a_[size_t(i) * C + size_t(h) * d];
        for (int j = 0; j < d; ++j) out[j] = 0;
        for (int t = 0; t <= p; ++t) {
          const float w = s[t] / sum;
          const float* vt = vc + size_t(t) * KV + size_t(kh) * d;
          for (int j = 0; j < d; ++j) out[j] += w * vt[j];
        }
      }
    matmul_forward(o_.data(), a_.data(), W(Ly.wo), n, C, C);
    for (size_t j = 0; j < N * C; ++j) x_[j] += o_[j];
    rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), W(Ly.mlp_norm), n, C, cfg_.norm_eps);
    matmul_forward(g_.data(), xn_.data(), W(Ly.w_gate), n, C, F);
    matmul_forward(u_.data(), xn_.data(), W(Ly.w_up), n, C, F);
    swiglu_forward(g_.data(), g_.data(), u_.data(), int64_t(N) * F);
    matmul_forward(o_.data(), g_.data(), W(Ly.w_down), n, F, C);
    for (size_t j = 0; j < N * C; ++j) x_[j] += o_[j];
  }
  // Logits of the last position only.
  const float* last = &x_[(N - 1) * C];
  rmsnorm_forward(xn_.data(), rstd_.data(), last, W(L.final_norm), 1, C, cfg_.norm_eps);
  matmul_forward(logits_.data(), xn_.data(), W(L.lm_head >= 0 ? L.lm_head : L.embed), 1, C, V);
  pos_ += n;
  return logits_.data();
}

}  // namespace slm::infer
