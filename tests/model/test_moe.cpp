// The mixture-of-experts layer against a naive dense reference written here from the math
// (every expert run on every token, the top-k picked by a plain sort), and the MoE
// model's gradients, router and aux losses included, against finite differences. Top-k
// routing is piecewise: each check first asserts that no token is near a tie, so a step
// of the finite differences cannot change which experts a token picks.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "slm/model/moe.h"
#include "slm/model/transformer.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

using namespace slm;
using namespace slm::model;

namespace {

ModelConfig moe_config(const std::string& router, int shared, float capacity) {
  ModelConfig c;
  c.vocab_size = 11;
  c.dim = 8;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.hidden_dim = 12;
  c.context = 6;
  c.n_experts = 4;
  c.experts_per_token = 2;
  c.n_shared_experts = shared;
  c.expert_hidden_dim = 6;
  c.router = router;
  c.capacity_factor = capacity;
  c.router_aux_loss_coef = 0.05f;  // larger than the default, so the check sees them
  c.router_z_loss_coef = 0.01f;
  return c;
}

// The naive layer: the output and both aux losses of N tokens xn [N, C].
struct NaiveMoe {
  const ModelConfig& c;
  const ParamLayout& L;
  const std::vector<double>& p;
  int layer;
  const double* w(int i) const { return p.data() + L.tensors[size_t(i)].offset; }
  std::vector<double> linear(const std::vector<double>& x, const double* W, int out) const {
    std::vector<double> y(size_t(out), 0.0);
    for (int o = 0; o < out; ++o)
      for (size_t i = 0; i < x.size(); ++i) y[size_t(o)] += W[size_t(o) * x.size() + i] * x[i];
    return y;
  }
  std::vector<double> swiglu_mlp(const std::vector<double>& x, int gate, int up, int down, int F) const {
    auto g = linear(x, w(gate), F), u = linear(x, w(up), F);
    for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
    return linear(g, w(down), c.dim);
  }
  double lb = 0, z = 0;
  std::vector<std::vector<double>> run(const std::vector<std::vector<double>>& xn) {
    const MoeIndex& M = L.moe[size_t(layer)];
    const int N = int(xn.size()), E = c.n_experts, K = c.experts_per_token;
    const int cap = c.capacity_factor > 0 ? int(std::ceil(c.capacity_factor * N * K / E)) : N * K;
    std::vector<std::vector<double>> out;
    std::vector<double> f(size_t(E), 0.0), P(size_t(E), 0.0);
    std::vector<int> taken(size_t(E), 0);
    z = 0;
    for (const auto& x : xn) {
      auto r = linear(x, w(M.router), E);
      double mx = *std::max_element(r.begin(), r.end()), s = 0;
      for (double v : r) s += std::exp(v - mx);
      std::vector<double> prob(static_cast<size_t>(E));
      for (int e = 0; e < E; ++e) prob[size_t(e)] = std::exp(r[size_t(e)] - mx) / s, P[size_t(e)] += prob[size_t(e)] / N;
      z += std::pow(mx + std::log(s), 2) / N;
      std::vector<int> idx(static_cast<size_t>(E));
      std::iota(idx.begin(), idx.end(), 0);
      std::stable_sort(idx.begin(), idx.end(), [&](int a, int b) { return r[size_t(a)] > r[size_t(b)]; });
      double gsum = 0;
      std::vector<double> gate(static_cast<size_t>(K));
      for (int j = 0; j < K; ++j) {
        int e = idx[size_t(j)];
        gate[size_t(j)] = c.router == "topk_softmax" ? std::exp(r[size_t(e)]) : prob[size_t(e)];
        gsum += gate[size_t(j)];
        f[size_t(e)] += 1.0 / (N * K);
      }
      std::vector<double> y(size_t(c.dim), 0.0);
      if (c.n_shared_experts > 0) y = swiglu_mlp(x, M.s_gate, M.s_up, M.s_down, c.n_shared_experts * c.expert_dim());
      for (int j = 0; j < K; ++j) {
        int e = idx[size_t(j)];
        if (taken[size_t(e)]++ >= cap) continue;  // over capacity: dropped
        double g = c.router == "topk_softmax" ? gate[size_t(j)] / gsum : gate[size_t(j)];
        auto ye = swiglu_mlp(x, M.w_gate[size_t(e)], M.w_up[size_t(e)], M.w_down[size_t(e)], c.expert_dim());
        for (int i = 0; i < c.dim; ++i) y[size_t(i)] += g * ye[size_t(i)];
      }
      out.push_back(y);
    }
    lb = 0;
    for (int e = 0; e < E; ++e) lb += E * f[size_t(e)] * P[size_t(e)];
    return out;
  }
};

// Weights large enough that routing is decisive and every path carries signal.
void big_weights(Transformer<double>& m, uint64_t seed) {
  m.init_weights(seed);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 20.0;
  for (const auto& t : m.layout().tensors)
    if (t.shape.size() == 1)
      for (int64_t i = 0; i < t.size; ++i) m.params()[t.offset + i] = 1.0 + 0.1 * std::sin(double(i));
}

// The smallest gap, over tokens, between the k-th and the (k+1)-th router logit.
double min_topk_gap(const std::vector<double>& logits, int E, int K) {
  double gap = 1e300;
  for (size_t n = 0; n * size_t(E) < logits.size(); ++n) {
    std::vector<double> r(logits.begin() + long(n * size_t(E)), logits.begin() + long((n + 1) * size_t(E)));
    std::sort(r.rbegin(), r.rend());
    if (K < E) gap = std::min(gap, r[size_t(K) - 1] - r[size_t(K)]);
  }
  return gap;
}

void check_layer(const ModelConfig& c) {
  Transformer<double> m(c);
  big_weights(m, 7);
  std::vector<double> p(m.params(), m.params() + m.num_params());
  const int N = 10;
  Rng rng(3);
  std::vector<double> xn(size_t(N * c.dim));
  for (auto& v : xn) v = rng.uniform() * 2 - 1;
  MoeLayer<double> layer(c, m.layout(), 0);
  std::vector<double> out(xn.size());
  const double aux = layer.forward(out.data(), xn.data(), N, m.params(), tensor::Precision::fp32);

  NaiveMoe nv{c, m.layout(), p, 0};
  std::vector<std::vector<double>> rows;
  for (int n = 0; n < N; ++n) rows.emplace_back(xn.begin() + n * c.dim, xn.begin() + (n + 1) * c.dim);
  auto want = nv.run(rows);
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < c.dim; ++i) EXPECT_NEAR(out[size_t(n * c.dim + i)], want[size_t(n)][size_t(i)], 1e-10);
  EXPECT_NEAR(layer.balance_loss(), nv.lb, 1e-12);
  EXPECT_NEAR(layer.z_loss(), nv.z, 1e-12);
  EXPECT_NEAR(aux, c.router_aux_loss_coef * nv.lb + c.router_z_loss_coef * nv.z, 1e-12);
  int64_t routed = 0;
  for (auto k : layer.counts()) routed += k;
  if (c.capacity_factor == 0) EXPECT_EQ(routed, N * c.experts_per_token);  // dropless
  else EXPECT_LT(routed, N * c.experts_per_token);                         // the check saw a drop
}

// The whole model: forward_backward's gradient of CE + aux against central differences
// of loss() + aux_loss().
void check_gradients(const ModelConfig& c) {
  Transformer<double> m(c);
  big_weights(m, 3);
  const int B = 2, T = 5;
  std::vector<int32_t> in = {1, 4, 7, 2, 9, 3, 3, 10, 0, 5}, tgt = {4, 7, 2, 9, 6, 3, 10, 0, 5, 8};
  m.zero_grad();
  const double got = m.forward_backward(in.data(), tgt.data(), B, T, 1.0 / (B * T));
  EXPECT_GT(m.aux_loss(), 0.0);
  for (int l = 0; l < c.n_layers; ++l) {  // no token near a tie, or the check means nothing
    if (!c.moe_layer(l)) continue;
    EXPECT_GT(min_topk_gap(m.moe_layer(l).router_logits(), c.n_experts, c.experts_per_token), 1e-3) << "layer " << l;
  }
  auto objective = [&] { return m.loss(in.data(), tgt.data(), B, T) + m.aux_loss(); };
  EXPECT_NEAR(got, objective(), 1e-12);
  // Every router weight, and every 5th of the rest (the check is a full forward a weight).
  std::vector<char> router(size_t(m.num_params()), 0);
  for (const auto& M : m.layout().moe)
    if (M.router >= 0) {
      const auto& t = m.layout().tensors[size_t(M.router)];
      std::fill(router.begin() + t.offset, router.begin() + t.offset + t.size, 1);
    }
  const double h = 1e-6;
  for (int64_t i = 0; i < m.num_params(); ++i) {
    if (!router[size_t(i)] && i % 5 != 0) continue;
    const double keep = m.params()[i];
    m.params()[i] = keep + h;
    const double up = objective();
    m.params()[i] = keep - h;
    const double down = objective();
    m.params()[i] = keep;
    const double numeric = (up - down) / (2 * h);
    const double err = std::abs(numeric - m.grads()[i]) / std::max(1e-2, std::abs(numeric));
    ASSERT_LT(err, 1e-5) << "parameter " << i << ": model " << m.grads()[i]
                         << ", finite differences " << numeric;
  }
}

}  // namespace

TEST(Moe, LayerMatchesANaiveDenseReference) {
  check_layer(moe_config("topk_softmax", 0, 0));
  check_layer(moe_config("softmax_topk", 0, 0));
  check_layer(moe_config("topk_softmax", 1, 0));
  check_layer(moe_config("softmax_topk", 2, 1.0f));  // capacity 5 slots an expert: some dropped
}

TEST(Moe, GradientsIncludingRouterAndAuxLossesMatchFiniteDifferences) {
  check_gradients(moe_config("topk_softmax", 0, 0));
  check_gradients(moe_config("softmax_topk", 1, 0));
  auto c = moe_config("topk_softmax", 1, 1.0f);
  c.moe_every = 2;  // layer 0 dense, layer 1 MoE
  check_gradients(c);
}

TEST(Moe, AuxLossesStayOutOfTheEvaluationLoss) {
  auto c = moe_config("topk_softmax", 0, 0);
  Transformer<double> m(c);
  big_weights(m, 3);
  std::vector<int32_t> in = {1, 4, 7, 2, 9}, tgt = {4, 7, 2, 9, 6};
  const double eval = m.loss(in.data(), tgt.data(), 1, 5);
  const double aux = m.aux_loss();
  EXPECT_GT(aux, 0.0);
  m.zero_grad();
  EXPECT_NEAR(m.forward_backward(in.data(), tgt.data(), 1, 5, 1.0 / 5), eval + aux, 1e-12);
  auto load = m.take_expert_load();
  for (int l = 0; l < 2; ++l) EXPECT_EQ(std::accumulate(load[size_t(l)].begin(), load[size_t(l)].end(), int64_t(0)), 10);
  load = m.take_expert_load();  // taken: reset
  EXPECT_EQ(std::accumulate(load[0].begin(), load[0].end(), int64_t(0)), 0);
}

TEST(Moe, ConfigValidationNamesTheField) {
  auto expect_error = [](ModelConfig c, const std::string& field) {
    try {
      c.validate("cfg.json");
      FAIL() << "accepted a bad " << field;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  auto c = moe_config("topk_softmax", 0, 0);
  c.validate("ok");
  auto bad = c;
  bad.experts_per_token = 5;
  expect_error(bad, "experts_per_token");
  bad = c, bad.router = "argmax";
  expect_error(bad, "router");
  bad = c, bad.moe_every = 0;
  expect_error(bad, "moe_every");
  bad = c, bad.capacity_factor = -1;
  expect_error(bad, "capacity_factor");
  bad = c, bad.n_experts = 0, bad.n_shared_experts = 1;
  expect_error(bad, "n_shared_experts");
  // Our JSON and Hugging Face's (Mixtral) both round-trip the MoE fields.
  EXPECT_EQ(ModelConfig::from_json(c.to_json(), "x").to_json(), c.to_json());
  auto hf = c.to_hf_config();
  EXPECT_EQ(hf["model_type"], "mixtral");
  EXPECT_EQ(hf["num_local_experts"], 4);
  EXPECT_EQ(ModelConfig::from_hf_config(hf, "x").to_json(), c.to_json());
  // A dense model's files do not mention experts.
  EXPECT_FALSE(ModelConfig().to_json().contains("n_experts"));
  EXPECT_EQ(ModelConfig().to_hf_config()["model_type"], "llama");
}

TEST(Moe, ActiveParametersCountKExperts) {
  auto c = moe_config("topk_softmax", 1, 0);
  Transformer<float> m(c);
  EXPECT_EQ(m.num_params(), count_params(c));
  const int64_t expert = 3 * 8 * 6;
  EXPECT_EQ(count_params(c) - count_active_params(c), 2 * 2 * expert);  // 2 layers x 2 idle experts
  EXPECT_EQ(m.layout().tensors[size_t(m.layout().moe[1].w_down[3])].name,
            "model.layers.1.block_sparse_moe.experts.3.w2.weight");
}
