// train.share_space_embeddings: the pairs a vocabulary gives, the map W = M R and its
// gradient Mᵀ checked by finite differences in double, and one AdamW step that moves a
// word's two spellings together.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "slm/model/params.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/adamw.h"
#include "slm/train/space_sharing.h"
#include "test_util.h"

using namespace slm;
using namespace slm::train;

namespace {

// A vocabulary trained on generated stories (a few hundred merges: " he" and "he", ...).
const tokenizer::Tokenizer& story_tokenizer() {
  static test::TempDir dir;
  static tokenizer::Tokenizer tok =
      tokenizer::Tokenizer::load(std::string(test::make_story_shards(dir, 300, 512)) + "/tokenizer.json");
  return tok;
}

model::ModelConfig config(bool tied) {
  model::ModelConfig c;
  c.vocab_size = 512, c.dim = 6, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.hidden_dim = 8, c.context = 8;
  c.tie_embeddings = tied;
  return c;
}

std::vector<float> random_params(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.f, 0.5f);
  std::vector<float> p(static_cast<size_t>(n));
  for (auto& x : p) x = d(rng);
  return p;
}

}  // namespace

TEST(SpaceSharing, PairsEachSpacedTokenWithItsBody) {
  const auto& tok = story_tokenizer();
  model::ParamLayout L(config(true));
  SpaceSharing s(tok, L);
  ASSERT_GT(s.pairs(), 50u) << "a story vocabulary has many \" w\" / \"w\" pairs";
  bool he = false;
  for (auto [spaced, body] : s.pair_ids()) {
    EXPECT_EQ(tok.token(uint32_t(spaced)), " " + tok.token(uint32_t(body)));
    EXPECT_NE(tok.token(uint32_t(body))[0], ' ') << "a body is never itself a spaced token (P² = 0)";
    he |= tok.token(uint32_t(spaced)) == " he";
  }
  EXPECT_TRUE(he) << "\" he\" and \"he\" are a pair";
}

TEST(SpaceSharing, MapsBackAndForth) {
  for (bool tied : {true, false}) {
    model::ParamLayout L(config(tied));
    SpaceSharing s(story_tokenizer(), L);
    const auto w = random_params(L.total, 1);
    auto p = w;
    s.to_shared(p.data());
    const auto [spaced, body] = s.pair_ids().front();
    const int64_t e = L.tensors[size_t(L.embed)].offset;
    EXPECT_NEAR(p[size_t(e + spaced * 6)], w[size_t(e + spaced * 6)] - w[size_t(e + body * 6)], 1e-6);
    EXPECT_EQ(p[size_t(e + body * 6)], w[size_t(e + body * 6)]);
    if (!tied) {
      const int64_t h = L.tensors[size_t(L.lm_head)].offset;
      EXPECT_NEAR(p[size_t(h + spaced * 6 + 2)], w[size_t(h + spaced * 6 + 2)] - w[size_t(h + body * 6 + 2)], 1e-6)
          << "an untied head's rows are shared too";
    }
    s.to_model(p.data());
    for (size_t i = 0; i < w.size(); ++i) ASSERT_NEAR(p[i], w[i], 1e-6) << i;
  }
}

// f(W) = Σ a_i sin(W_i), with W = M R: the gradient in R that grads_to_shared makes from
// ∂f/∂W, against central differences of f in R computed in double.
TEST(SpaceSharing, GradientMatchesFiniteDifferences) {
  for (bool tied : {true, false}) {
    model::ParamLayout L(config(tied));
    SpaceSharing s(story_tokenizer(), L);
    const auto a = random_params(L.total, 2);
    std::vector<double> r(size_t(L.total));
    {
      auto p = random_params(L.total, 3);
      for (size_t i = 0; i < r.size(); ++i) r[i] = p[i];
    }
    // W = M R in double, by the pairs themselves: a reference apart from the code under test.
    auto model_of = [&](const std::vector<double>& rr) {
      std::vector<double> w = rr;
      std::vector<int64_t> offs{L.tensors[size_t(L.embed)].offset};
      if (!tied) offs.push_back(L.tensors[size_t(L.lm_head)].offset);
      for (int64_t off : offs)
        for (auto [sp, b] : s.pair_ids())
          for (int64_t i = 0; i < 6; ++i) w[size_t(off + sp * 6 + i)] += rr[size_t(off + b * 6 + i)];
      return w;
    };
    auto f = [&](const std::vector<double>& rr) {
      const auto w = model_of(rr);
      double sum = 0;
      for (size_t i = 0; i < w.size(); ++i) sum += a[i] * std::sin(w[i]);
      return sum;
    };
    const auto w = model_of(r);
    std::vector<float> g(w.size());
    for (size_t i = 0; i < w.size(); ++i) g[i] = float(a[i] * std::cos(w[i]));
    s.grads_to_shared(g.data());
    // A spaced row, its body's row and a row of neither, in the embedding and (untied) the
    // head; and the final norm, a tensor the map leaves alone.
    const auto [sp, b] = s.pair_ids()[3];
    std::vector<std::pair<int64_t, std::vector<int64_t>>> checked{{L.tensors[size_t(L.embed)].offset, {sp, b, 0}},
                                                                   {L.tensors[size_t(L.final_norm)].offset, {0}}};
    if (!tied) checked.push_back({L.tensors[size_t(L.lm_head)].offset, {sp, b, 0}});
    const double h = 1e-5;
    for (const auto& [off, rows] : checked)
      for (int64_t row : rows)
        for (int64_t i = 0; i < 6; ++i) {
          const size_t k = size_t(off + row * 6 + i);
          auto up = r, down = r;
          up[k] += h, down[k] -= h;
          const double fd = (f(up) - f(down)) / (2 * h);
          EXPECT_NEAR(g[k], fd, 1e-4 * (1 + std::abs(fd))) << "offset " << off << " row " << row << " col " << i;
        }
  }
}

// A gradient on " w"'s row alone moves "w"'s row by the same step: the two spellings
// learn together. Rows of other tokens do not move.
TEST(SpaceSharing, AStepOnTheSpacedRowMovesItsBody) {
  model::ParamLayout L(config(true));
  SpaceSharing s(story_tokenizer(), L);
  const auto [sp, b] = s.pair_ids().front();
  const int64_t e = L.tensors[size_t(L.embed)].offset;
  auto p = random_params(L.total, 4);
  const auto before = p;
  std::vector<float> g(p.size(), 0.f);
  for (int64_t i = 0; i < 6; ++i) g[size_t(e + sp * 6 + i)] = 0.3f * float(i + 1);
  AdamW adam(L, 0.9, 0.95, 1e-8, 0.0, false);
  s.grads_to_shared(g.data());
  s.to_shared(p.data());
  adam.step(p.data(), g.data(), 1e-2, 1);
  s.to_model(p.data());
  for (int64_t i = 0; i < 6; ++i) {
    const float d_body = p[size_t(e + b * 6 + i)] - before[size_t(e + b * 6 + i)];
    const float d_spaced = p[size_t(e + sp * 6 + i)] - before[size_t(e + sp * 6 + i)];
    EXPECT_NEAR(d_body, -1e-2f, 1e-5f) << "Adam's first step is lr against the gradient's sign";
    EXPECT_NEAR(d_spaced, -2e-2f, 1e-5f) << "its own row's step plus its body's";
  }
  for (size_t k = 0; k < p.size(); ++k) {
    const int64_t row = (int64_t(k) - e) / 6;
    if (int64_t(k) >= e && int64_t(k) < e + 512 * 6 && (row == sp || row == b)) continue;
    ASSERT_NEAR(p[k], before[k], 1e-6) << k;
  }
}
