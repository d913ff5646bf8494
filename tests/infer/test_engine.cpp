#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "infer/decode_error.h"
#include "slm/infer/engine.h"
#include "slm/infer/sampler.h"
#include "slm/util/error.h"

using namespace slm;

namespace {
model::ModelConfig config() {
  model::ModelConfig c;
  c.vocab_size = 37;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.hidden_dim = 24;
  c.context = 24;
  return c;
}
}  // namespace

TEST(Engine, IncrementalDecodingMatchesTheFullForwardPass) {
  // Within 1e-5 relative to the size of the position's logits (the weights are scaled up
  // ×10 so every path matters and logits reach a few units; float rounding differs
  // between GEMM shapes): the 7-token prompt in one batched pass, then one token a call.
  std::vector<uint32_t> toks;
  for (int i = 0; i < 20; ++i) toks.push_back(uint32_t((i * 7 + 3) % 37));
  EXPECT_LE(test::decode_error(config(), false, toks, 7, 7, 10.f), 1e-5);

  model::Transformer<float> m(config());
  m.init_weights(7);
  infer::Engine e(m);
  e.feed(toks.data(), 20);
  std::vector<uint32_t> more(5, 1);
  EXPECT_THROW(e.feed(more.data(), 5, 20), Error) << "24-token context";
}

TEST(Engine, SequencesDecodedTogetherMatchEachAlone) {
  model::Transformer<float> m(config());
  m.init_weights(8);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 10;
  std::vector<std::vector<uint32_t>> seqs = {{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}, {30, 20, 10, 0, 5, 9}};
  // Alone: each sequence in its own engine, one token at a time.
  std::vector<std::vector<float>> alone;
  for (const auto& s : seqs) {
    infer::Engine e(m);
    const float* l = nullptr;
    for (int t = 0; t < 6; ++t) l = e.feed(&s[size_t(t)], 1, t);
    alone.emplace_back(l, l + 37);
  }
  // Together: prompts of different lengths, then one row per sequence a step.
  infer::Engine e(m, 3);
  e.feed(seqs[0].data(), 2, 0, 0);
  e.feed(seqs[1].data(), 4, 0, 1);
  e.feed(seqs[2].data(), 1, 0, 2);
  int pos[3] = {2, 4, 1};
  const float* l = nullptr;
  while (pos[0] < 6 || pos[1] < 6 || pos[2] < 6) {
    std::vector<infer::Engine::Row> rows;
    for (int s = 0; s < 3; ++s)
      if (pos[s] < 6) rows.push_back({seqs[size_t(s)][size_t(pos[s])], s, pos[s]++});
    l = e.feed(rows);
    for (size_t r = 0; r < rows.size(); ++r) {
      if (rows[r].pos != 5) continue;
      for (int j = 0; j < 37; ++j)
        ASSERT_NEAR(l[r * 37 + size_t(j)], alone[size_t(rows[r].seq)][size_t(j)], 1e-4) << "sequence " << rows[r].seq;
    }
  }
}

TEST(TokenSampler, TemperatureZeroIsGreedy) {
  std::vector<float> logits = {0.1f, 2.0f, -1.f, 1.9f};
  Rng rng(1);
  infer::SamplingOptions o;
  o.temperature = 0;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(infer::sample_token(logits.data(), 4, o, rng), 1u);
}

TEST(TokenSampler, TopKAndTopPKeepExactlyTheRightTokens) {
  // Probabilities (temperature 1): 0.5, 0.25, 0.15, 0.1 by construction.
  std::vector<float> logits = {std::log(0.5f), std::log(0.25f), std::log(0.15f), std::log(0.1f)};
  Rng rng(2);
  auto seen = [&](const infer::SamplingOptions& o) {
    std::map<uint32_t, int> n;
    for (int i = 0; i < 4000; ++i) ++n[infer::sample_token(logits.data(), 4, o, rng)];
    return n;
  };
  infer::SamplingOptions o;
  o.temperature = 1;
  o.top_k = 2;
  auto k2 = seen(o);
  EXPECT_EQ(k2.size(), 2u);
  EXPECT_NEAR(k2[0] / 4000.0, 0.5 / 0.75, 0.03);
  o.top_k = 0;
  o.top_p = 0.8f;  // 0.5 + 0.25 = 0.75 < 0.8: the third token is needed too
  auto p8 = seen(o);
  EXPECT_EQ(p8.size(), 3u);
  EXPECT_EQ(p8.count(3), 0u);
  o.top_p = 0.5f;
  EXPECT_EQ(seen(o).size(), 1u);
  // A fixed seed gives the same draws.
  o.top_p = 1;
  Rng a(9), b(9);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(infer::sample_token(logits.data(), 4, o, a), infer::sample_token(logits.data(), 4, o, b));
}

TEST(TokenSampler, MinPAndRepetitionPenalty) {
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  Rng rng(3);
  infer::SamplingOptions o;
  o.temperature = 1;
  o.min_p = 0.25f;  // keeps tokens at least 0.125 likely: 0, 1, 2
  std::map<uint32_t, int> n;
  for (int i = 0; i < 3000; ++i) ++n[infer::sample_token(logits.data(), 4, o, rng)];
  EXPECT_EQ(n.size(), 3u);
  EXPECT_EQ(n.count(3), 0u);
  // Greedy with a penalty on the best token: positive logits are divided, negative multiplied.
  std::vector<float> z = {2.0f, 1.5f, -1.0f};
  infer::SamplingOptions g;
  g.temperature = 0;
  EXPECT_EQ(infer::sample_token(z.data(), 3, g, rng, {0}), 0u);
  g.repetition_penalty = 1.5f;  // 2.0 / 1.5 = 1.33 < 1.5
  EXPECT_EQ(infer::sample_token(z.data(), 3, g, rng, {0, 0, 0}), 1u);
  z = {-0.5f, -0.6f};
  g.repetition_penalty = 1.5f;  // -0.5 * 1.5 = -0.75 < -0.6
  EXPECT_EQ(infer::sample_token(z.data(), 2, g, rng, {0}), 1u);
}

// Head sizes 32, 48, 64, 96 and 128 take the vectorised attention (engine.cpp's
// attend_head), 24 the portable loop; positions 0..18 cover both of its tails (a count of
// positions not a multiple of four, or of two). Each against the training forward pass.
TEST(Engine, EveryHeadSizeMatchesTheFullForwardPass) {
  for (int d : {24, 32, 48, 64, 96, 128}) {
    model::ModelConfig c = config();
    c.n_heads = 2, c.n_kv_heads = 1, c.dim = 2 * d, c.hidden_dim = 40, c.n_layers = 1;
    std::vector<uint32_t> toks;
    for (int i = 0; i < 19; ++i) toks.push_back(uint32_t((i * 11 + 5) % 37));
    EXPECT_LE(test::decode_error(c, false, toks, 5, uint64_t(d), 4.f), 1e-5) << "head_dim " << d;
  }
}
