#include "slm/infer/engine.h"

#include <cmath>
#include <cstring>

#include "slm/model/quantized_files.h"
#include "slm/tensor/ops.h"
#include "slm/util/error.h"

namespace slm::infer {

using namespace slm::tensor;

Engine::Engine(const model::Transformer<float>& m, int sequences, bool q8)
    : m_(m), cfg_(m.config()), seqs_(sequences), q8_(q8 || model::loaded_from_q8(m)) {  // slm quantize's folders run int8
  if (sequences < 1) throw Error("an engine needs at least one sequence");
  if (q8_) {
    const auto& L = m.layout();
    q8w_.resize(L.tensors.size());
    for (size_t i = 0; i < L.tensors.size(); ++i) {
      const auto& t = L.tensors[i];
      // Every matrix, the embedding too: its rows are looked up from int8 (as llama.cpp reads
      // a Q8_0 token_embd), so a folder slm quantize wrote runs exactly as --q8 does.
      if (t.shape.size() == 2) q8w_[i] = quantize_q8(m.params() + t.offset, int(t.shape[0]), int(t.shape[1]));
    }
  }
  const size_t per_seq = size_t(cfg_.n_layers) * cfg_.context * cfg_.kv_dim();
  k_cache_.assign(per_seq * size_t(sequences), 0.f);
  v_cache_.assign(per_seq * size_t(sequences), 0.f);
}

void Engine::linear(float* y, const float* x, int param, int n, int in, int out) {
  if (q8_) return q8_matmul(y, x, q8w_[size_t(param)], n);
  matmul_forward(y, x, m_.params() + m_.layout().tensors[size_t(param)].offset, n, in, out);
}

const float* Engine::feed(const uint32_t* tokens, int n, int pos, int seq) {
  rows_.clear();  // a member, so prompts reuse its allocation; feed(rows) only reads it
  for (int i = 0; i < n; ++i) rows_.push_back({tokens[i], seq, pos + i});
  return feed(rows_) + size_t(n - 1) * size_t(cfg_.vocab_size);
}

const float* Engine::feed(const std::vector<Row>& rows) {
  const int C = cfg_.dim, KV = cfg_.kv_dim(), F = cfg_.hidden_dim, V = cfg_.vocab_size;
  const int H = cfg_.n_heads, d = cfg_.head_dim(), group = H / cfg_.n_kv_heads;
  const int n = int(rows.size());
  if (n < 1) throw Error("nothing to feed the model");
  for (const auto& r : rows) {
    if (r.token >= uint32_t(V)) throw Error("token id " + std::to_string(r.token) + " is outside the vocabulary");
    if (r.seq < 0 || r.seq >= seqs_) throw Error("no sequence " + std::to_string(r.seq) + " in this engine");
    if (r.pos < 0 || r.pos >= cfg_.context)
      throw Error("the context is full: position " + std::to_string(r.pos) + ", the model holds " +
                  std::to_string(cfg_.context) + " tokens");
  }
  const auto& L = m_.layout();
  auto W = [&](int i) { return m_.params() + L.tensors[size_t(i)].offset; };
  const size_t N = size_t(n), layer_stride = size_t(cfg_.context) * KV;
  auto cache_row = [&](std::vector<float>& cache, int seq, int layer, int pos) {
    return cache.data() + (size_t(seq) * cfg_.n_layers + size_t(layer)) * layer_stride + size_t(pos) * KV;
  };
  x_.resize(N * C), xn_.resize(N * C), q_.resize(N * C), k_.resize(N * KV), v_.resize(N * KV), a_.resize(N * C);
  o_.resize(N * C), g_.resize(N * F), u_.resize(N * F), rstd_.resize(N), logits_.resize(N * size_t(V));
  for (size_t i = 0; i < N; ++i) {
    if (q8_) q8_dequantize_row(&x_[i * C], q8w_[size_t(L.embed)], int(rows[i].token));
    else std::memcpy(&x_[i * C], W(L.embed) + size_t(rows[i].token) * C, sizeof(float) * C);
  }
  const float scale = 1.f / std::sqrt(float(d));
  for (int l = 0; l < cfg_.n_layers; ++l) {
    const auto& Ly = L.layers[size_t(l)];
    // q, k, v of every row; k and v join their sequence's cache.
    rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), W(Ly.attn_norm), n, C, cfg_.norm_eps);
    linear(q_.data(), xn_.data(), Ly.wq, n, C, C);
    linear(k_.data(), xn_.data(), Ly.wk, n, C, KV);
    linear(v_.data(), xn_.data(), Ly.wv, n, C, KV);
    for (size_t i = 0; i < N; ++i) {  // rows sit at their own positions
      rope_forward(&q_[i * C], 1, 1, H, d, cfg_.rope_theta, rows[i].pos);
      rope_forward(&k_[i * KV], 1, 1, cfg_.n_kv_heads, d, cfg_.rope_theta, rows[i].pos);
      std::memcpy(cache_row(k_cache_, rows[i].seq, l, rows[i].pos), &k_[i * KV], sizeof(float) * KV);
      std::memcpy(cache_row(v_cache_, rows[i].seq, l, rows[i].pos), &v_[i * KV], sizeof(float) * KV);
    }
    // Each row attends over its sequence's cached positions 0..pos.
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < n; ++i)
      for (int h = 0; h < H; ++h) {
        const Row& r = rows[size_t(i)];
        const int kh = h / group;
        const float* kc = cache_row(k_cache_, r.seq, l, 0) + size_t(kh) * d;
        const float* vc = cache_row(v_cache_, r.seq, l, 0) + size_t(kh) * d;
        const float* qi = &q_[size_t(i) * C + size_t(h) * d];
        std::vector<float> s(size_t(r.pos) + 1);  // per task: tasks run in parallel
        float mx = -INFINITY;
        for (int t = 0; t <= r.pos; ++t) {
          const float* kt = kc + size_t(t) * KV;
          float dot = 0;
          for (int j = 0; j < d; ++j) dot += qi[j] * kt[j];
          s[size_t(t)] = dot * scale;
          mx = std::max(mx, s[size_t(t)]);
        }
        float sum = 0;
        for (auto& e : s) sum += (e = std::exp(e - mx));
        float* out = &a_[size_t(i) * C + size_t(h) * d];
        for (int j = 0; j < d; ++j) out[j] = 0;
        for (int t = 0; t <= r.pos; ++t) {
          const float w = s[size_t(t)] / sum;
          const float* vt = vc + size_t(t) * KV;
          for (int j = 0; j < d; ++j) out[j] += w * vt[j];
        }
      }
    linear(o_.data(), a_.data(), Ly.wo, n, C, C);
    for (size_t j = 0; j < N * C; ++j) x_[j] += o_[j];
    rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), W(Ly.mlp_norm), n, C, cfg_.norm_eps);
    linear(g_.data(), xn_.data(), Ly.w_gate, n, C, F);
    linear(u_.data(), xn_.data(), Ly.w_up, n, C, F);
    swiglu_forward(g_.data(), g_.data(), u_.data(), int64_t(N) * F);
    linear(o_.data(), g_.data(), Ly.w_down, n, F, C);
    for (size_t j = 0; j < N * C; ++j) x_[j] += o_[j];
  }
  rmsnorm_forward(xn_.data(), rstd_.data(), x_.data(), W(L.final_norm), n, C, cfg_.norm_eps);
  linear(logits_.data(), xn_.data(), L.output_head(), n, C, V);
  return logits_.data();
}

}  // namespace slm::infer
