#include "slm/infer/engine.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "slm/infer/attention.h"
#include "slm/model/quantized_files.h"
#include "slm/tensor/gemm.h"
#include "slm/tensor/matvec.h"
#include "slm/tensor/parallel.h"
#include "slm/util/error.h"

namespace slm::infer {

using namespace slm::tensor;

namespace {
// Below this many rows a product is matrix-vector work (each weight read once, from
// memory); from here on a GEMM reuses each weight across rows.
constexpr int kGemmRows = kQ8GemmRows;

// h = silu(g) * u in place of g, for rows [0, n) and columns [o0, o1) of width-`width` rows.
void swiglu_columns(float* g, const float* u, int n, int width, int o0, int o1) {
  for (int i = 0; i < n; ++i)
    for (int j = o0; j < o1; ++j) {
      const size_t at = size_t(i) * width + size_t(j);
      g[at] = g[at] / (1.f + std::exp(-g[at])) * u[at];
    }
}
}  // namespace

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
      // The MoE router stays fp32: its logits pick the experts, and it is small.
      const bool router = t.name.find("block_sparse_moe.gate.") != std::string::npos;
      if (t.shape.size() == 2 && !router) q8w_[i] = quantize_q8(m.params() + t.offset, int(t.shape[0]), int(t.shape[1]));
    }
  }
  const size_t per_seq = size_t(cfg_.n_layers) * cfg_.context * cfg_.kv_dim();
  if (q8_) k_cache16_.assign(per_seq * size_t(sequences), 0), v_cache16_.assign(per_seq * size_t(sequences), 0);
  else k_cache_.assign(per_seq * size_t(sequences), 0.f), v_cache_.assign(per_seq * size_t(sequences), 0.f);
  // Rotary angles for every position, once (the same values tensor::rope_forward computes).
  const int d = cfg_.head_dim(), half = d / 2;
  rope_cos_.resize(size_t(cfg_.context) * half);
  rope_sin_.resize(size_t(cfg_.context) * half);
  for (int t = 0; t < cfg_.context; ++t)
    for (int i = 0; i < half; ++i) {
      const double freq = std::pow(double(cfg_.rope_theta), -2.0 * i / d);
      rope_cos_[size_t(t) * half + size_t(i)] = float(std::cos(t * freq));
      rope_sin_[size_t(t) * half + size_t(i)] = float(std::sin(t * freq));
    }
}

const float* Engine::feed(const uint32_t* tokens, int n, int pos, int seq) {
  rows_.clear();  // a member, so prompts reuse its allocation; feed(rows) only reads it
  for (int i = 0; i < n; ++i) rows_.push_back({tokens[i], seq, pos + i});
  return run(rows_, /*all_logits=*/false);
}

const float* Engine::feed(const std::vector<Row>& rows) { return run(rows, /*all_logits=*/true); }

const float* Engine::run(const std::vector<Row>& rows, bool all_logits) {
  const int n = int(rows.size());
  if (n < 1) throw Error("nothing to feed the model");
  for (const auto& r : rows) {
    if (r.token >= uint32_t(cfg_.vocab_size)) throw Error("token id " + std::to_string(r.token) + " is outside the vocabulary");
    if (r.seq < 0 || r.seq >= seqs_) throw Error("no sequence " + std::to_string(r.seq) + " in this engine");
    if (r.pos < 0 || r.pos >= cfg_.context)
      throw Error("the context is full: position " + std::to_string(r.pos) + ", the model holds " +
                  std::to_string(cfg_.context) + " tokens");
  }
  const size_t N = size_t(n), C = size_t(cfg_.dim), KV = size_t(cfg_.kv_dim());
  size_t F = size_t(cfg_.hidden_dim);
  x_.resize(N * C), xn_.resize(N * C), q_.resize(N * C), k_.resize(N * KV), v_.resize(N * KV), a_.resize(N * C);
  logits_.resize(N * size_t(cfg_.vocab_size));
  if (cfg_.n_experts > 0) {  // moe_mlp's buffers, sized here: outside the parallel region
    const size_t E = size_t(cfg_.n_experts), NK = N * size_t(cfg_.experts_per_token), Fe = size_t(cfg_.expert_dim());
    F = std::max(F, size_t(cfg_.n_shared_experts) * Fe);  // g_ and u_ also hold the shared experts' rows
    router_.resize(N * E), xg_.resize(NK * C), gg_.resize(NK * Fe), ug_.resize(NK * Fe), yg_.resize(NK * C);
    gate_.resize(NK), row_token_.resize(NK), slot_row_.resize(NK), xgq_.resize(E), hgq_.resize(E);
  }
  g_.resize(N * F), u_.resize(N * F);
  const int threads = omp_get_max_threads();
  scores_.resize(size_t(threads) * size_t(cfg_.context));
  deq_.resize(size_t(threads));
  // One parallel region for the whole pass: every operation shares the work out inside
  // it, with a barrier only where one operation reads what another wrote.
#pragma omp parallel
  forward(rows, all_logits);
  return logits_.data();
}

size_t Engine::cache_at(int seq, int layer, int kv_head, int pos) const {
  const size_t head = (size_t(seq) * cfg_.n_layers + size_t(layer)) * size_t(cfg_.n_kv_heads) + size_t(kv_head);
  return (head * size_t(cfg_.context) + size_t(pos)) * size_t(cfg_.head_dim());
}

void Engine::cache_store(int i, const Row& r, int layer) {
  const int d = cfg_.head_dim(), KV = cfg_.kv_dim();
  const float* k = &k_[size_t(i) * KV];
  const float* v = &v_[size_t(i) * KV];
  for (int h = 0; h < cfg_.n_kv_heads; ++h, k += d, v += d) {
    const size_t at = cache_at(r.seq, layer, h, r.pos);
    if (q8_) {
      to_bf16_row(&k_cache16_[at], k, d);
      to_bf16_row(&v_cache16_[at], v, d);
    } else {
      std::memcpy(&k_cache_[at], k, sizeof(float) * d);
      std::memcpy(&v_cache_[at], v, sizeof(float) * d);
    }
  }
}

Engine::Input Engine::input(const float* x, int n, int in, Q8Rows& q) {
  if (!q8_ || n >= kGemmRows) return {x, n, in, nullptr};
#pragma omp single
  q8_quantize_rows(q, x, n, in);  // the implicit barrier after single publishes q
  return {x, n, in, &q};
}

void Engine::linear(float* y, const Input& x, int param, int out, bool accumulate) {
  auto [o0, o1] = thread_share(out, 16);
  if (q8_ && q8w_[size_t(param)].rows > 0) {
    const Q8Matrix& w = q8w_[size_t(param)];
    if (x.q) return q8_matvec_rows(y, *x.q, w, o0, o1, accumulate);
    return q8_gemm_rows(y, x.x, x.n, w, o0, o1, deq_[size_t(omp_get_thread_num())], accumulate);
  }
  const float* w = m_.params() + m_.layout().tensors[size_t(param)].offset;
  if (x.n < kGemmRows) return matvec_rows(y, x.x, w, x.n, x.in, out, o0, o1, accumulate);
  gemm_rows(y, x.x, w, x.n, x.in, out, o0, o1, accumulate);
}

void Engine::attend(float* out, const float* q, const Row& r, int layer, int h, float* s) {
  const int d = cfg_.head_dim(), kh = h / (cfg_.n_heads / cfg_.n_kv_heads);
  const float scale = 1.f / std::sqrt(float(d));
  const size_t at = cache_at(r.seq, layer, kh, 0);
  if (q8_) return attend_head(out, q, &k_cache16_[at], &v_cache16_[at], r.pos + 1, d, scale, s);
  attend_head(out, q, &k_cache_[at], &v_cache_[at], r.pos + 1, d, scale, s);
}

// Runs in every thread of feed's parallel region. Reads as llama2.c's forward(): for each
// layer, x += Wo · attention(rope(Wq·xn), rope(Wk·xn), Wv·xn) and
// x += Wdown · (silu(Wgate·xn) * (Wup·xn)), xn = rmsnorm(x) before each.
void Engine::forward(const std::vector<Row>& rows, bool all_logits) {
  const int n = int(rows.size()), C = cfg_.dim, KV = cfg_.kv_dim(), F = cfg_.hidden_dim, V = cfg_.vocab_size;
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim(), half = d / 2;
  const auto& L = m_.layout();
  auto W = [&](int i) { return m_.params() + L.tensors[size_t(i)].offset; };
  float* scores = &scores_[size_t(omp_get_thread_num()) * size_t(cfg_.context)];
  // xn = x / sqrt(mean(x²) + eps) * w, row by row (tensor::rmsnorm_forward's arithmetic,
  // without the parallel region it opens).
  auto rmsnorm = [&](int weight, int first = 0) {
    const float* w = W(weight);
#pragma omp for schedule(static)
    for (int i = first; i < n; ++i) {
      const float* xi = &x_[size_t(i) * C];
      float ss = 0;
      for (int c = 0; c < C; ++c) ss += xi[c] * xi[c];
      const float r = 1.f / std::sqrt(ss / float(C) + cfg_.norm_eps);
      for (int c = 0; c < C; ++c) xn_[size_t(i) * C + size_t(c)] = xi[c] * r * w[c];
    }
  };
  auto rotate = [&](float* v, int heads, int pos) {
    const float* c = &rope_cos_[size_t(pos) * half];
    const float* s = &rope_sin_[size_t(pos) * half];
    for (int h = 0; h < heads; ++h, v += d)
      for (int i = 0; i < half; ++i) {
        const float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c[i] - x2 * s[i];
        v[i + half] = x2 * c[i] + x1 * s[i];
      }
  };

#pragma omp for schedule(static)
  for (int i = 0; i < n; ++i) {
    float* xi = &x_[size_t(i) * C];
    if (q8_) q8_dequantize_row(xi, q8w_[size_t(L.embed)], int(rows[size_t(i)].token));
    else std::memcpy(xi, W(L.embed) + size_t(rows[size_t(i)].token) * C, sizeof(float) * C);
  }
  for (int l = 0; l < cfg_.n_layers; ++l) {
    const auto& Ly = L.layers[size_t(l)];
    // q, k, v of every row, rotated to its position; k and v join their sequence's cache.
    rmsnorm(Ly.attn_norm);
    const Input xn = input(xn_.data(), n, C, xq_);
    linear(q_.data(), xn, Ly.wq, C);
    linear(k_.data(), xn, Ly.wk, KV);
    linear(v_.data(), xn, Ly.wv, KV);
#pragma omp barrier
#pragma omp for schedule(static)
    for (int i = 0; i < n; ++i) {
      const Row& r = rows[size_t(i)];
      rotate(&q_[size_t(i) * C], H, r.pos);
      rotate(&k_[size_t(i) * KV], Hkv, r.pos);
      cache_store(i, r, l);
    }
    // Each row attends over its sequence's cached positions 0..pos (round-robin: later
    // rows of a prompt have more to read).
#pragma omp for collapse(2) schedule(static, 1)
    for (int i = 0; i < n; ++i)
      for (int h = 0; h < H; ++h)
        attend(&a_[size_t(i) * C + size_t(h) * d], &q_[size_t(i) * C + size_t(h) * d], rows[size_t(i)], l, h, scores);
    linear(x_.data(), input(a_.data(), n, C, aq_), Ly.wo, C, /*accumulate=*/true);
#pragma omp barrier
    rmsnorm(Ly.mlp_norm);
    const Input xn2 = input(xn_.data(), n, C, xq_);
    if (cfg_.moe_layer(l)) {  // this layer's MLP is a mixture of experts
      moe_mlp(l, xn2);
      continue;
    }
    linear(g_.data(), xn2, Ly.w_gate, F);
    linear(u_.data(), xn2, Ly.w_up, F);
    // h = silu(g) * u in place of g, on the columns this thread computed (gate and up
    // split their outputs alike), so no barrier until the down product reads whole rows.
    const auto [f0, f1] = thread_share(F, 16);
    swiglu_columns(g_.data(), u_.data(), n, F, f0, f1);
#pragma omp barrier
    linear(x_.data(), input(g_.data(), n, F, hq_), Ly.w_down, C, /*accumulate=*/true);
#pragma omp barrier
  }
  // Logits of every row, or of the last row only (a prompt needs no more, and the head is
  // the largest matrix: llama.cpp too computes only the last).
  const int first = all_logits ? 0 : n - 1;
  rmsnorm(L.final_norm, first);
  linear(logits_.data(), input(&xn_[size_t(first) * C], n - first, C, xq_), L.output_head(), V);
}

void Engine::route(int n) {
  const int E = cfg_.n_experts, K = cfg_.experts_per_token;
  const bool topk_first = cfg_.router == "topk_softmax";
  offset_.assign(size_t(E) + 1, 0);
  choice_.resize(size_t(n) * K), order_.resize(size_t(E));
  for (int i = 0; i < n; ++i) {
    const float* r = &router_[size_t(i) * E];
    // The k largest logits, ties to the lower index (as model/moe.cpp).
    for (int e = 0; e < E; ++e) order_[size_t(e)] = e;
    std::partial_sort(order_.begin(), order_.begin() + K, order_.end(),
                      [&](int a, int b) { return r[a] > r[b] || (r[a] == r[b] && a < b); });
    const float mx = r[order_[0]];
    float all = 0, chosen = 0;
    for (int e = 0; e < E; ++e) all += std::exp(r[e] - mx);
    for (int j = 0; j < K; ++j) chosen += std::exp(r[order_[size_t(j)]] - mx);
    // topk_softmax: softmax over the chosen logits; softmax_topk: the full softmax's value.
    for (int j = 0; j < K; ++j) {
      const int e = order_[size_t(j)];
      choice_[size_t(i) * K + size_t(j)] = e;
      gate_[size_t(i) * K + size_t(j)] = std::exp(r[e] - mx) / (topk_first ? chosen : all);
      ++offset_[size_t(e) + 1];
    }
  }
  for (int e = 0; e < E; ++e) offset_[size_t(e) + 1] += offset_[size_t(e)];
  next_.assign(offset_.begin(), offset_.end() - 1);
  for (int s = 0; s < n * K; ++s) {
    const int row = next_[size_t(choice_[size_t(s)])]++;
    row_token_[size_t(row)] = s / K, slot_row_[size_t(s)] = row;
  }
}

// Synchronisation is what a decoding step of a small model pays for most, so this runs
// with as few barriers as the dense MLP: one thread routes (the router is E rows, the
// routing a sort of E numbers a token); then every thread computes its share of each
// expert's columns and applies SwiGLU to the columns it computed (gate and up share
// their split, so no barrier between); one barrier before the down products (they read
// whole rows of h); each thread adds its own output columns into x.
void Engine::moe_mlp(int l, const Input& xn) {
  const int n = xn.n, C = cfg_.dim, E = cfg_.n_experts, K = cfg_.experts_per_token, Fe = cfg_.expert_dim();
  const auto& M = m_.layout().moe[size_t(l)];
  // Expert e's rows are offset_[e] .. offset_[e+1]: int8 inputs when q8 and few rows.
  auto expert_input = [&](std::vector<float>& x, std::vector<Q8Rows>& q, int e, int in) -> Input {
    const int r0 = offset_[size_t(e)], n_e = offset_[size_t(e) + 1] - r0;
    const bool int8 = q8_ && n_e < kGemmRows;
    return {&x[size_t(r0) * in], n_e, in, int8 ? &q[size_t(e)] : nullptr};
  };
  auto quantize = [&](std::vector<float>& x, std::vector<Q8Rows>& q, int in) {
    for (int e = 0; e < E; ++e) {
      const int r0 = offset_[size_t(e)], n_e = offset_[size_t(e) + 1] - r0;
      if (q8_ && n_e > 0 && n_e < kGemmRows) q8_quantize_rows(q[size_t(e)], &x[size_t(r0) * in], n_e, in);
    }
  };
#pragma omp single
  {
    const float* wr = m_.params() + m_.layout().tensors[size_t(M.router)].offset;  // fp32 even when q8
    if (n < kGemmRows) matvec_rows(router_.data(), xn.x, wr, n, C, E, 0, E, false);
    else gemm_rows(router_.data(), xn.x, wr, n, C, E, 0, E, false);
    route(n);
    for (int i = 0; i < n * K; ++i) std::memcpy(&xg_[size_t(i) * C], &xn.x[size_t(row_token_[size_t(i)]) * C], sizeof(float) * C);
    quantize(xg_, xgq_, C);
  }  // the single's barrier publishes the routing and the gathered rows
  const auto [f0, f1] = thread_share(Fe, 16);  // linear's split of Fe outputs
  for (int e = 0; e < E; ++e) {
    const Input x = expert_input(xg_, xgq_, e, C);
    if (x.n == 0) continue;
    const size_t r0 = size_t(offset_[size_t(e)]);
    linear(&gg_[r0 * Fe], x, M.w_gate[size_t(e)], Fe);
    linear(&ug_[r0 * Fe], x, M.w_up[size_t(e)], Fe);
    swiglu_columns(&gg_[r0 * Fe], &ug_[r0 * Fe], x.n, Fe, f0, f1);
  }
#pragma omp barrier
  if (q8_) {
#pragma omp single
    quantize(gg_, hgq_, Fe);
  }
  for (int e = 0; e < E; ++e) {
    const Input h = expert_input(gg_, hgq_, e, Fe);
    if (h.n > 0) linear(&yg_[size_t(offset_[size_t(e)]) * C], h, M.w_down[size_t(e)], C);
  }
  // x[token] += Σⱼ gateⱼ · y[its j-th row], over the output columns this thread computed.
  const auto [c0, c1] = thread_share(C, 16);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < K; ++j) {
      const float g = gate_[size_t(i) * K + size_t(j)];
      const float* y = &yg_[size_t(slot_row_[size_t(i) * K + size_t(j)]) * C];
      float* x = &x_[size_t(i) * C];
      for (int c = c0; c < c1; ++c) x[c] += g * y[c];
    }
  if (M.s_gate >= 0) {  // shared experts: a dense SwiGLU every row runs (g_, u_ sized for it by run)
    const int Fs = cfg_.n_shared_experts * Fe;
    linear(g_.data(), xn, M.s_gate, Fs);
    linear(u_.data(), xn, M.s_up, Fs);
    const auto [s0, s1] = thread_share(Fs, 16);
    swiglu_columns(g_.data(), u_.data(), n, Fs, s0, s1);
#pragma omp barrier
    // Its down product adds to the same columns of x this thread's combine wrote.
    linear(x_.data(), input(g_.data(), n, Fs, hq_), M.s_down, C, /*accumulate=*/true);
  }
#pragma omp barrier
}

}  // namespace slm::infer
