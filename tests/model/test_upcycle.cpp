// slm moe upcycle: the MoE model it writes computes what the dense model did (every
// expert a copy of the MLP, top-k softmax gates summing to 1), loads back as a Mixtral
// folder, and refuses bad options and models that already have experts.
#include <gtest/gtest.h>

#include <filesystem>

#include "slm/model/model_files.h"
#include "slm/model/upcycle.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;

TEST(Upcycle, TheMoeModelStartsAsTheDenseModel) {
  test::TempDir dir;
  model::ModelConfig c;
  c.vocab_size = 37, c.dim = 16, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 24, c.context = 16;
  model::Transformer<float> dense(c);
  dense.init_weights(5);
  std::filesystem::create_directories(dir / "dense");
  model::save_model_files(dir / "dense", dense);
  test::spit(dir / "dense/tokenizer.json", "{}");
  model::UpcycleOptions o;
  o.experts = 4;
  const int64_t n = model::upcycle_model(dir / "dense", dir / "moe", o);
  auto moe = model::load_model(dir / "moe");
  EXPECT_EQ(moe->num_params(), n);
  EXPECT_EQ(moe->config().n_experts, 4);
  EXPECT_TRUE(std::filesystem::exists(dir / "moe/tokenizer.json"));
  std::vector<int32_t> toks = {1, 5, 9, 2, 30, 7, 7, 3};
  dense.forward(toks.data(), 1, 8);
  moe->forward(toks.data(), 1, 8);
  for (int i = 0; i < 8 * 37; ++i) ASSERT_NEAR(moe->logits()[i], dense.logits()[i], 1e-5) << i;
  // Not twice, and not with k above the experts.
  EXPECT_THROW(model::upcycle_model(dir / "moe", dir / "moe2", o), Error);
  o.experts_per_token = 5;
  EXPECT_THROW(model::upcycle_model(dir / "dense", dir / "moe3", o), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "moe3"));
}
