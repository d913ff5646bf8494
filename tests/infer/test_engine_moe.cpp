// The KV-cache engine with mixture-of-experts layers (each token runs its k experts)
// against the training forward pass (model/moe.cpp), prompt and decoding, fp32 and q8,
// both router modes and shared experts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "slm/infer/engine.h"

using namespace slm;

namespace {

model::ModelConfig moe_config(const std::string& router, int shared, int every) {
  model::ModelConfig c;
  c.vocab_size = 37;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.hidden_dim = 40;
  c.context = 24;
  c.n_experts = 8;
  c.experts_per_token = 2;
  c.n_shared_experts = shared;
  c.expert_hidden_dim = 24;
  c.moe_every = every;
  c.router = router;
  return c;
}

// Largest |engine − forward| over the decoded positions, relative to each position's
// largest logit.
double decode_error(const model::ModelConfig& c, bool q8) {
  model::Transformer<float> m(c);
  m.init_weights(11);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 10;
  std::vector<uint32_t> toks;
  for (int i = 0; i < 20; ++i) toks.push_back(uint32_t((i * 7 + 3) % 37));
  std::vector<int32_t> as_int(toks.begin(), toks.end());
  m.forward(as_int.data(), 1, int(toks.size()));
  std::vector<float> full(m.logits(), m.logits() + toks.size() * 37);
  infer::Engine e(m, 1, q8);
  double worst = 0;
  auto compare = [&](const float* l, size_t t) {
    double scale = 1;
    for (int j = 0; j < 37; ++j) scale = std::max(scale, double(std::abs(full[t * 37 + size_t(j)])));
    for (int j = 0; j < 37; ++j) worst = std::max(worst, std::abs(l[j] - full[t * 37 + size_t(j)]) / scale);
  };
  compare(e.feed(toks.data(), 7), 6);  // the prompt: many rows, grouped GEMMs
  for (size_t t = 7; t < toks.size(); ++t) compare(e.feed(&toks[t], 1, int(t)), t);  // one token, k experts
  return worst;
}

}  // namespace

// Float rounding differs between the grouped GEMMs and the engine's matrix-vector
// products; the weights are scaled up (logits of tens), hence 1e-4 of the largest logit.
TEST(EngineMoe, DecodingMatchesTheTrainingForwardPass) {
  EXPECT_LT(decode_error(moe_config("topk_softmax", 0, 1), false), 1e-4);
  EXPECT_LT(decode_error(moe_config("softmax_topk", 1, 1), false), 1e-4);
  EXPECT_LT(decode_error(moe_config("topk_softmax", 2, 2), false), 1e-4);
}

TEST(EngineMoe, Q8ExpertWeightsStayAsCloseAsADenseModels) {
  // int8 experts (the router stays fp32) cost no more accuracy than int8 costs the dense
  // model of the same shape and weight scale.
  auto dense = moe_config("topk_softmax", 0, 1);
  dense.n_experts = 0;
  const double dense_err = decode_error(dense, true), moe_err = decode_error(moe_config("topk_softmax", 1, 1), true);
  EXPECT_GT(moe_err, 0.0);
  EXPECT_LT(moe_err, 2.0 * dense_err) << "dense q8 error " << dense_err;
}
