#include <gtest/gtest.h>

#include <cmath>

#include "slm/data/pack.h"
#include "slm/data/shard.h"
#include "slm/stories/story_corpus.h"
#include "slm/data/tokenizer_training.h"
#include "slm/infer/engine.h"
#include "slm/model/model_files.h"
#include "slm/tensor/q8.h"
#include "slm/train/pretrain.h"
#include "slm/util/rng.h"
#include "test_util.h"

using namespace slm;

TEST(Q8, RoundTripErrorIsWithinHalfAStep) {
  Rng rng(1);
  std::vector<float> w(4 * 64);
  for (auto& x : w) x = float(rng.uniform() * 2 - 1);
  auto q = tensor::quantize_q8(w.data(), 4, 64);
  for (size_t i = 0; i < w.size(); ++i) {
    EXPECT_NEAR(q.scale[i / 32] * q.q[i], w[i], q.scale[i / 32] * 0.5 + 1e-7);
  }
  std::vector<float> x(64), y(4), ref(4, 0.f);
  for (auto& v : x) v = float(rng.uniform());
  tensor::q8_matmul(y.data(), x.data(), q, 1);
  for (int o = 0; o < 4; ++o)
    for (int j = 0; j < 64; ++j) ref[size_t(o)] += q.scale[size_t(o * 2 + j / 32)] * q.q[size_t(o * 64 + j)] * x[size_t(j)];
  // The activations are quantised to int8 blocks too: about 0.5% error a product.
  for (int o = 0; o < 4; ++o) EXPECT_NEAR(y[size_t(o)], ref[size_t(o)], 0.01 * std::abs(ref[size_t(o)]) + 1e-3);
  EXPECT_EQ(q.bytes(), 4 * 64 + 8 * 4);
  // A row length that is no multiple of 32: the last block is partial.
  std::vector<float> w2(3 * 40);
  for (auto& v : w2) v = float(rng.uniform() - 0.5);
  auto q2 = tensor::quantize_q8(w2.data(), 3, 40);
  std::vector<float> x2(40, 1.f), y2(3);
  tensor::q8_matmul(y2.data(), x2.data(), q2, 1);
  for (int o = 0; o < 3; ++o) {
    double want = 0;
    for (int j = 0; j < 40; ++j) want += w2[size_t(o * 40 + j)];
    EXPECT_NEAR(y2[size_t(o)], want, 0.05);
  }
}

// A model trained a little on stories: q8's validation perplexity is within 1% of fp32's.
TEST(Q8, ValidationPerplexityWithinOnePercentOfFloat) {
  test::TempDir dir;
  const std::string shards = test::make_story_shards(dir, 600, 512);
  train::PretrainOptions o;
  o.model.dim = 64, o.model.n_layers = 2, o.model.n_heads = 4, o.model.n_kv_heads = 2, o.model.hidden_dim = 128;
  o.model.context = 64;
  o.train.batch_size = 8, o.train.max_steps = 80, o.train.warmup_steps = 5, o.train.lr = 3e-3;
  o.train.eval_every = 0, o.train.checkpoint_every = 0;
  o.data_dir = shards, o.out_dir = dir / "run", o.threads = 2, o.quiet = true;
  auto r = train::pretrain(o);
  auto m = model::load_model(r.model_dir);

  data::TokenShard val(data::list_shards(shards, "val").at(0));
  auto nll = [&](bool q8) {
    infer::Engine e(*m, 1, q8);
    double total = 0;
    int count = 0;
    for (size_t start = 0; start + 65 <= val.size() && count < 2000; start += 64) {
      std::vector<uint32_t> toks(64);
      for (int t = 0; t < 64; ++t) toks[size_t(t)] = val[start + size_t(t)];
      const float* logits = e.feed(std::vector<infer::Engine::Row>([&] {
        std::vector<infer::Engine::Row> rows;
        for (int t = 0; t < 64; ++t) rows.push_back({toks[size_t(t)], 0, t});
        return rows;
      }()));
      for (int t = 0; t < 64; ++t) {
        const float* z = logits + size_t(t) * 512;
        double mx = *std::max_element(z, z + 512), sum = 0;
        for (int j = 0; j < 512; ++j) sum += std::exp(double(z[j]) - mx);
        total += std::log(sum) + mx - z[val[start + size_t(t) + 1]];
        ++count;
      }
    }
    return total / count;
  };
  const double ppl32 = std::exp(nll(false)), ppl8 = std::exp(nll(true));
  EXPECT_LT(ppl32, 250.0) << "the model learned something (uniform: 512)";
  EXPECT_NEAR(ppl8 / ppl32, 1.0, 0.01) << "fp32 " << ppl32 << " q8 " << ppl8;
  RecordProperty("ppl_fp32", std::to_string(ppl32));
  RecordProperty("ppl_q8", std::to_string(ppl8));
}
