// The KV-cache engine with mixture-of-experts layers (each token runs its k experts)
// against the training forward pass (model/moe.cpp), prompt and decoding, fp32 and q8,
// both router modes and shared experts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "infer/decode_error.h"
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

// The engine against the training forward pass (decode_error.h) on 20 tokens, a 7-token
// prompt, the weights scaled by 10.
double decode_error(const model::ModelConfig& c, bool q8) {
  std::vector<uint32_t> toks;
  for (int i = 0; i < 20; ++i) toks.push_back(uint32_t((i * 7 + 3) % 37));
  return test::decode_error(c, q8, toks, 7, 11, 10.f);
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
