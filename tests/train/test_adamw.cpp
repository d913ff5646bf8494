// AdamW, the learning-rate schedule and gradient clipping against their formulas, computed
// here by hand (in double) rather than by running the code under test a second time.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "slm/model/params.h"
#include "slm/train/adamw.h"
#include "slm/train/train_config.h"
#include "slm/util/error.h"

using namespace slm;
using namespace slm::train;

namespace {

model::ModelConfig tiny_config() {
  model::ModelConfig c;
  c.vocab_size = 8, c.dim = 4, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.hidden_dim = 8, c.context = 4;
  return c;
}

// A seven-number parameter vector in three tensors: an embedding (2), a matrix that
// decays (3), a norm that does not (2).
model::ParamLayout tiny_layout() {
  model::ParamLayout L(tiny_config());
  L.tensors.clear();
  L.tensors.push_back({"embed", {2, 1}, 0, 2, false});
  L.tensors.push_back({"matrix", {3, 1}, 2, 3, true});
  L.tensors.push_back({"norm", {2}, 5, 2, false});
  L.embed = 0, L.lm_head = -1, L.final_norm = 2, L.total = 7;
  L.layers.clear();
  return L;
}

// Adam with bias correction and decoupled weight decay (Loshchilov & Hutter, algorithm 2
// with the schedule multiplier folded into lr), one parameter at a time.
struct Reference {
  double p, m = 0, v = 0;
  void step(double g, double lr, int t, double b1, double b2, double eps, double wd) {
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double mhat = m / (1 - std::pow(b1, t)), vhat = v / (1 - std::pow(b2, t));
    p = p - lr * wd * p - lr * mhat / (std::sqrt(vhat) + eps);
  }
};

}  // namespace

// The first step by hand: m̂ = g and v̂ = g², so the update is lr · g / (|g| + eps), about
// lr · sign(g), whatever the gradient's size; decay takes lr · wd of the weight first.
TEST(AdamW, FirstStepByHand) {
  auto L = tiny_layout();
  AdamW adam(L, 0.9, 0.95, 1e-8, 0.5, false);
  std::vector<float> p = {1, -2, 1, -2, 4, 1, -2}, g = {2, -0.01f, 2, -0.01f, 0, 2, -0.01f};
  adam.step(p.data(), g.data(), 0.1, 1);
  // embedding (no decay): 1 - 0.1 = 0.9; -2 + 0.1 = -1.9
  EXPECT_NEAR(p[0], 0.9, 1e-6);
  EXPECT_NEAR(p[1], -1.9, 1e-5);
  // matrix (decay 0.1 · 0.5 = 5%): 1 - 0.05 - 0.1 = 0.85; -2 + 0.1 + 0.1 = -1.8; 4 - 0.2 = 3.8
  EXPECT_NEAR(p[2], 0.85, 1e-6);
  EXPECT_NEAR(p[3], -1.8, 1e-5);
  EXPECT_NEAR(p[4], 3.8, 1e-6) << "a zero gradient: decay alone";
  // norm (no decay)
  EXPECT_NEAR(p[5], 0.9, 1e-6);
  EXPECT_NEAR(p[6], -1.9, 1e-5);
}

// Five steps with changing gradients and learning rates: bias correction matters most in
// the first steps, where (1 - β^t) is far from one.
TEST(AdamW, StepsMatchTheFormulaWithBiasCorrection) {
  const double b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  for (bool decay_embeddings : {false, true}) {
    auto L = tiny_layout();
    AdamW adam(L, b1, b2, eps, wd, decay_embeddings);
    std::vector<float> p = {0.5f, -0.25f, 1.5f, -0.75f, 0.125f, 1.f, 0.9f};
    std::vector<Reference> ref;
    for (float x : p) ref.push_back({x});
    const bool decays[7] = {decay_embeddings, decay_embeddings, true, true, true, false, false};
    for (int t = 1; t <= 5; ++t) {
      const double lr = 0.01 * t;
      std::vector<float> g(7);
      for (int i = 0; i < 7; ++i) g[size_t(i)] = float(std::sin(1.0 + i * 0.7 + t * 1.3) * (i + 1));
      adam.step(p.data(), g.data(), lr, t);
      for (int i = 0; i < 7; ++i) ref[size_t(i)].step(g[size_t(i)], lr, t, b1, b2, eps, decays[i] ? wd : 0.0);
      for (int i = 0; i < 7; ++i)
        ASSERT_NEAR(p[size_t(i)], ref[size_t(i)].p, 2e-6)
            << "parameter " << i << " after step " << t << " (decay_embeddings " << decay_embeddings << ")";
    }
    EXPECT_NEAR(adam.m()[2], ref[2].m, 1e-6);
    EXPECT_NEAR(adam.v()[2], ref[2].v, 1e-6);
  }
}

// On a real model layout: with zero gradients only the decay moves weights, and only the
// matrices' (the embedding only when asked, norms never).
TEST(AdamW, DecayAppliesToMatricesNotNormsOrEmbeddingUnlessAsked) {
  model::ParamLayout L(tiny_config());
  for (bool decay_embeddings : {false, true}) {
    AdamW adam(L, 0.9, 0.95, 1e-8, 0.2, decay_embeddings);
    std::vector<float> p(size_t(L.total), 1.f), g(size_t(L.total), 0.f);
    adam.step(p.data(), g.data(), 0.5, 1);
    for (size_t i = 0; i < L.tensors.size(); ++i) {
      const auto& t = L.tensors[i];
      const bool matrix = t.shape.size() == 2 && int(i) != L.embed;
      const bool want = matrix || (decay_embeddings && int(i) == L.embed);
      EXPECT_FLOAT_EQ(p[size_t(t.offset)], want ? 0.9f : 1.f) << t.name << " (decay_embeddings " << decay_embeddings << ")";
    }
  }
}

// Linear warm-up to lr over warmup_steps (step s gets lr · (s + 1) / warmup), then a
// cosine from lr down to min_lr at max_steps, and min_lr after.
TEST(LearningRate, WarmupThenCosineAtChosenSteps) {
  TrainConfig c;
  c.lr = 1e-3, c.min_lr = 1e-4, c.warmup_steps = 10, c.max_steps = 110;
  EXPECT_DOUBLE_EQ(learning_rate(c, 0), 1e-4);
  EXPECT_DOUBLE_EQ(learning_rate(c, 4), 5e-4);
  EXPECT_DOUBLE_EQ(learning_rate(c, 9), 1e-3);
  EXPECT_NEAR(learning_rate(c, 10), 1e-3, 1e-15) << "the peak: cosine at progress 0";
  // progress 1/4: min + (1 + cos(π/4)) / 2 · (lr - min) = 1e-4 + 0.853553 · 9e-4
  EXPECT_NEAR(learning_rate(c, 35), 8.681981e-4, 1e-9);
  EXPECT_NEAR(learning_rate(c, 60), 5.5e-4, 1e-15) << "halfway: the mean of lr and min_lr";
  // progress 3/4: 1e-4 + 0.146447 · 9e-4
  EXPECT_NEAR(learning_rate(c, 85), 2.318019e-4, 1e-9);
  EXPECT_NEAR(learning_rate(c, 110), 1e-4, 1e-15);
  EXPECT_DOUBLE_EQ(learning_rate(c, 500), 1e-4);
  for (int64_t s = 11; s < 110; ++s) EXPECT_LT(learning_rate(c, s), learning_rate(c, s - 1)) << "decays at " << s;
}

// WSD: the same warm-up, lr held until the last decay_fraction of the steps, then
// min + (1 - sqrt(progress)) · (lr - min). Until its decay a run is the same for every
// max_steps, which is what lets a shorter budget branch off a longer run.
TEST(LearningRate, WarmupStableDecayAtChosenSteps) {
  TrainConfig c;
  c.schedule = "wsd", c.decay_fraction = 0.2;
  c.lr = 1e-3, c.min_lr = 1e-4, c.warmup_steps = 10, c.max_steps = 110;
  EXPECT_EQ(decay_start(c), 88);  // 110 - round(22.0)
  EXPECT_DOUBLE_EQ(learning_rate(c, 4), 5e-4);
  for (int64_t s = 10; s < 88; ++s) EXPECT_DOUBLE_EQ(learning_rate(c, s), 1e-3) << "stable at " << s;
  EXPECT_DOUBLE_EQ(learning_rate(c, 88), 1e-3);
  // step 99: progress (99 - 88) / 22 = 1/2
  EXPECT_NEAR(learning_rate(c, 99), 1e-4 + (1 - std::sqrt(0.5)) * 9e-4, 1e-15);
  EXPECT_NEAR(learning_rate(c, 110), 1e-4, 1e-15);
  for (int64_t s = 89; s < 110; ++s) EXPECT_LT(learning_rate(c, s), learning_rate(c, s - 1)) << "decays at " << s;
  TrainConfig longer = c;
  longer.max_steps = 400;  // decays from 320
  for (int64_t s = 0; s < 88; ++s) EXPECT_EQ(learning_rate(c, s), learning_rate(longer, s)) << "shared prefix at " << s;
  // A decay that would reach into the warm-up starts after it.
  c.decay_fraction = 1.0;
  EXPECT_EQ(decay_start(c), 10);
  EXPECT_DOUBLE_EQ(learning_rate(c, 10), 1e-3);
  c.schedule = "cosine";
  EXPECT_EQ(decay_start(c), 10);
}

TEST(TrainConfigSchedule, UnknownScheduleAndFractionAreRefused) {
  TrainConfig c;
  c.schedule = "linear";
  EXPECT_THROW(c.validate("t.json"), Error);
  c.schedule = "wsd";
  c.validate("t.json");
  c.decay_fraction = 0;
  EXPECT_THROW(c.validate("t.json"), Error);
  c.decay_fraction = 1.5;
  EXPECT_THROW(c.validate("t.json"), Error);
}

// The global L2 norm over all gradients; above max_norm every gradient is scaled by
// max_norm / norm (the direction kept), below it nothing changes.
TEST(ClipGradNorm, ScalesToMaxNormByTheFormula) {
  std::vector<float> g = {3, 0, -4, 0, 12};  // norm 13
  EXPECT_NEAR(clip_grad_norm(g.data(), 5, 2.6), 13.0, 1e-9);
  const double s = 2.6 / 13.0;
  EXPECT_NEAR(g[0], 3 * s, 1e-6);
  EXPECT_NEAR(g[2], -4 * s, 1e-6);
  EXPECT_NEAR(g[4], 12 * s, 1e-6);
  double ss = 0;
  for (float x : g) ss += double(x) * x;
  EXPECT_NEAR(std::sqrt(ss), 2.6, 1e-5) << "the clipped norm is max_norm";

  std::vector<float> small = {0.3f, -0.4f};  // norm 0.5, under the limit
  EXPECT_NEAR(clip_grad_norm(small.data(), 2, 1.0), 0.5, 1e-7);
  EXPECT_EQ(small, (std::vector<float>{0.3f, -0.4f}));
  std::vector<float> off = {30, 40};
  EXPECT_NEAR(clip_grad_norm(off.data(), 2, 0.0), 50.0, 1e-9) << "max_norm 0: off";
  EXPECT_EQ(off, (std::vector<float>{30, 40}));
}

// ZeRO-1: optimizers that each own a shard of the vector (cut inside tensors, as the ranks'
// shards are) update it exactly as one optimizer over the whole vector does, and keep
// moments for their shard only.
TEST(AdamW, ShardsUpdateExactlyAsTheWhole) {
  const auto L = tiny_layout();
  std::vector<float> whole_p = {0.5f, -1.f, 2.f, 0.25f, -0.75f, 1.f, 1.5f}, shard_p = whole_p;
  AdamW whole(L, 0.9, 0.95, 1e-8, 0.1, false);
  std::vector<AdamW> shards;
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 3}, {3, 6}, {6, 7}})
    shards.emplace_back(L, 0.9, 0.95, 1e-8, 0.1, false, lo, hi);
  for (int t = 1; t <= 5; ++t) {
    std::vector<float> g = {0.1f * t, -0.2f, 0.3f, -0.05f * t, 0.7f, -0.4f, 0.2f};
    whole.step(whole_p.data(), g.data(), 1e-2, t);
    for (auto& s : shards) s.step(shard_p.data(), g.data(), 1e-2, t);
  }
  EXPECT_EQ(whole_p, shard_p);
  EXPECT_EQ(shards[1].m().size(), 3u);
  EXPECT_EQ(shards[1].m()[0], whole.m()[3]) << "moment i of a shard belongs to parameter lo + i";
}
