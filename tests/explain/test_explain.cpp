// Causal tracing, activation patching, the logit lens and attention maps: exact on the
// limits (restore everything: the clean run; nothing: the corrupted one), and the known
// pattern on a model trained here on a task whose answer lives in one known token.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "explain/recall_task.h"
#include "slm/explain/lens.h"
#include "slm/explain/patch.h"
#include "slm/explain/patcher.h"
#include "slm/explain/prompt.h"
#include "slm/explain/trace.h"
#include "slm/util/error.h"
#include "tiny_model.h"

namespace slm::explain {
namespace {

using model::Site;
using test::RecallTask;

// The answer's probability at the last position of a plain forward (no hook).
double plain_prob(model::Transformer<float>& m, const std::vector<int32_t>& ids, int32_t answer) {
  m.forward(ids.data(), 1, int(ids.size()));
  return softmax_prob(m.logits() + (ids.size() - 1) * size_t(m.config().vocab_size), m.config().vocab_size, answer);
}

// The model trained once for every test of the suite (a few seconds).
class Recall : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    double loss = 0;
    const auto t0 = std::chrono::steady_clock::now();
    model_ = RecallTask::train(&loss).release();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("recall task: loss %.4f after %.1f s of training\n", loss, s);
  }
  static void TearDownTestSuite() { delete model_; }
  static model::Transformer<float>* model_;
};
model::Transformer<float>* Recall::model_ = nullptr;

TEST_F(Recall, RestoringEveryStateGivesTheCleanProbabilityAndNoneTheCorrupted) {
  auto& m = *model_;
  const auto ids = RecallTask::prompt(2, 5);
  const int32_t answer = RecallTask::object(5);
  const int Tn = int(ids.size()), L = m.config().n_layers, C = m.config().dim;
  const double p_clean = plain_prob(m, ids, answer);
  Noise noise{RecallTask::kObject, RecallTask::kObject + 1, 4, 3.0 * embedding_std(m), 11};
  Patcher p(m, ids, ids, noise);
  EXPECT_NEAR(softmax_prob(p.source_logits().data(), m.config().vocab_size, answer), p_clean, 1e-6);

  // Nothing restored: the corrupted runs, checked against plain forwards of a copy of the
  // model whose object embedding carries each noise draw (the output head, tied to the
  // embeddings, stays the clean model's).
  double p_corrupt = 0;
  for (int k = 0; k < noise.samples; ++k) {
    model::Transformer<float> noisy = m;
    float* row = noisy.param(noisy.layout().embed) + size_t(ids[RecallTask::kObject]) * C;
    for (int c = 0; c < C; ++c) row[c] += float(noise.scale) * p.noise_values()[size_t(k) * C + c];
    noisy.forward_hidden(ids.data(), 1, Tn);
    const float* h = noisy.final_hidden() + size_t(Tn - 1) * C;
    std::vector<float> logits(static_cast<size_t>(m.config().vocab_size));
    for (size_t v = 0; v < logits.size(); ++v)
      for (int c = 0; c < C; ++c) logits[v] += h[c] * m.param(m.layout().output_head())[v * C + size_t(c)];
    p_corrupt += softmax_prob(logits.data(), int(logits.size()), answer) / noise.samples;
  }
  std::vector<int> all(static_cast<size_t>(Tn));
  std::iota(all.begin(), all.end(), 0);
  std::vector<Restore> items{Restore{Site::resid, {}, {}}, Restore{Site::embed, {0}, all}};
  for (int l = 0; l < L; ++l) items.push_back(Restore{Site::resid, {l}, all});
  const auto probs = p.answer_probs(items, answer);
  EXPECT_NEAR(probs[0], p_corrupt, 1e-6);
  EXPECT_GT(p_clean - p_corrupt, 0.1);  // the corruption matters
  for (size_t i = 1; i < probs.size(); ++i) EXPECT_NEAR(probs[i], p_clean, 1e-6) << "restoring every state of row " << i - 1;

  // The trace agrees: its corrupted probability, and the two single states that are
  // everything the corruption touched (the object's embedding) or all the head reads (the
  // last position after the last layer).
  TraceOptions o;
  o.samples = 4, o.seed = 11, o.quiet = true;
  const auto r = causal_trace(m, ids, RecallTask::kObject, RecallTask::kObject + 1, answer, o);
  EXPECT_NEAR(r.p_clean, p_clean, 1e-6);
  EXPECT_NEAR(r.p_corrupt, p_corrupt, 1e-6);
  EXPECT_NEAR(r.probs[0][0][RecallTask::kObject], p_clean, 1e-6);
  EXPECT_NEAR(r.probs[0][size_t(L)][size_t(Tn) - 1], p_clean, 1e-6);
}

// Patcher resumes each restoration from the corrupted run at its first layer and position
// and batches them; here each one runs the plain way instead, a full forward from the
// embeddings (noise added, states put back by a hook written here), and they must agree.
TEST_F(Recall, ResumedRestorationsMatchFullForwards) {
  auto& m = *model_;
  const auto ids = RecallTask::prompt(4, 2);
  const int32_t answer = RecallTask::object(2);
  const int Tn = int(ids.size()), C = m.config().dim, V = m.config().vocab_size, hd = m.config().head_dim();
  const Noise noise{RecallTask::kObject, RecallTask::kObject + 1, 3, 3.0 * embedding_std(m), 5};
  Patcher p(m, ids, ids, noise);
  const std::vector<Restore> items{
      {Site::resid, {}, {}},          {Site::embed, {0}, {3}},       {Site::embed, {0}, {3, 6}},
      {Site::resid, {0}, {3}},        {Site::resid, {1}, {5}},       {Site::resid, {2}, {Tn - 1}},
      {Site::resid, {0, 2}, {4, 8}},  {Site::mlp_out, {0, 1, 2}, {3}}, {Site::mlp_out, {1, 2}, {7}},
      {Site::attn_out, {0, 1}, {9}},  {Site::attn_heads, {1}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 2},
      {Site::resid, {1}, {5}},  // a repeat: run once, reported twice
  };
  const auto fast = p.answer_probs(items, answer);
  struct Plain : model::ForwardHook<float> {
    Patcher* p = nullptr;
    const Restore* r = nullptr;
    const Noise* n = nullptr;
    int sample = 0, C = 0, hd = 0;
    void at(Site site, int layer, float* act, int, int) override {
      if (site == Site::embed)
        for (int c = 0; c < C; ++c) act[size_t(n->begin) * C + c] += float(n->scale) * p->noise_values()[size_t(sample) * C + c];
      if (site != r->site || std::find(r->layers.begin(), r->layers.end(), layer) == r->layers.end()) return;
      const int c0 = r->head >= 0 ? r->head * hd : 0, width = r->head >= 0 ? hd : C;
      for (int t : r->positions) std::copy_n(p->source(site, layer).data() + size_t(t) * C + c0, width, act + size_t(t) * C + c0);
    }
  } plain;
  plain.p = &p, plain.n = &noise, plain.C = C, plain.hd = hd;
  for (size_t i = 0; i < items.size(); ++i) {
    double expect = 0;
    plain.r = &items[i];
    for (int s = 0; s < noise.samples; ++s) {
      plain.sample = s;
      m.set_hook(&plain);
      m.forward(ids.data(), 1, Tn);
      m.set_hook(nullptr);
      expect += softmax_prob(m.logits() + size_t(Tn - 1) * V, V, answer) / noise.samples;
    }
    EXPECT_NEAR(fast[i], expect, 1e-5) << "restoration " << i;
  }
  EXPECT_GT(fast[3] - fast[0], 0.1);  // the object's state after layer 0 matters
}

TEST_F(Recall, TracingFindsTheObjectEarlyAndTheLastPositionLate) {
  auto& m = *model_;
  TraceOptions o;  // ROME's defaults: 10 draws of 3x the embeddings' std
  o.quiet = true;
  std::vector<TraceResult> traces;
  for (int n = 0; n < 4; ++n)
    for (int obj : {1, 6, 12}) {
      const auto ids = RecallTask::prompt(n, obj);
      const auto r = causal_trace(m, ids, RecallTask::kObject, RecallTask::kObject + 1, RecallTask::object(obj), o);
      EXPECT_GT(r.p_clean, 0.9);
      const auto& resid = r.probs[0];
      auto argmax = [](const std::vector<double>& v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); };
      // Early: the embeddings hold the answer at the object. Late: the last two layers'
      // outputs hold it at the last position.
      EXPECT_EQ(argmax(resid[0]), RecallTask::kObject);
      EXPECT_EQ(argmax(resid[resid.size() - 2]), int(ids.size()) - 1);
      EXPECT_EQ(argmax(resid.back()), int(ids.size()) - 1);
      traces.push_back(r);
    }
  // The average indirect effect: after the first layer the object's position alone still
  // restores most of what the corruption took; after the last layer it restores nothing,
  // and the last position all of it.
  const auto a = average_indirect_effect(traces);
  EXPECT_EQ(a.traces, 12);
  EXPECT_EQ(a.count[2], 12);  // every trace has a last subject token
  EXPECT_EQ(a.count[1], 0);   // and no middle subject tokens (one-token subjects)
  std::printf("AIE after layer 0: object %.3f, last %.3f; after layer 2: object %.3f, last %.3f\n", a.aie[0][2][1],
              a.aie[0][5][1], a.aie[0][2].back(), a.aie[0][5].back());
  const double lost = a.mean_p_clean - a.mean_p_corrupt;
  EXPECT_GT(lost, 0.3);
  EXPECT_GT(a.aie[0][2][1], 0.5 * lost);
  EXPECT_LT(a.aie[0][2].back(), 0.05 * lost);
  EXPECT_GT(a.aie[0][5].back(), 0.95 * lost);
  EXPECT_GT(a.aie[0][5].back(), a.aie[0][2].back());
}

TEST_F(Recall, PatchingTheObjectRestoresTheAnswer) {
  auto& m = *model_;
  const auto clean = RecallTask::prompt(3, 4), cf = RecallTask::prompt(3, 9);
  const auto r = activation_patch(m, clean, cf, RecallTask::object(4), RecallTask::object(9));
  EXPECT_GT(r.ld_clean, 0);
  EXPECT_LT(r.ld_cf, 0);
  const int L = m.config().n_layers, last = int(clean.size()) - 1;
  // The object's own state after the first layer, patched alone, restores >= 80% of the
  // answer's probability (and of the logit difference).
  EXPECT_GE(r.resid_p[1][RecallTask::kObject], 0.8 * r.p_clean);
  EXPECT_GT(r.resid[1][RecallTask::kObject], 0.8);
  // Positions that do not hold the object restore nothing early; the last one everything late.
  EXPECT_NEAR(r.resid[1][1], 0.0, 1e-6);
  EXPECT_NEAR(r.resid[size_t(L)][size_t(last)], 1.0, 1e-5);
  // The object reaches the last position through attention: some layer's attention output
  // restores most of it, and its heads together account for it.
  EXPECT_GT(*std::max_element(r.attn.begin(), r.attn.end()), 0.5);
  EXPECT_EQ(r.heads.size(), size_t(L));
}

TEST_F(Recall, LogitLensEndsAtTheModelsPredictionAndAttentionMapsAreDistributions) {
  auto& m = *model_;
  const auto ids = RecallTask::prompt(1, 7);
  const int32_t answer = RecallTask::object(7);
  const auto lens = logit_lens(m, ids, 3, answer);
  const int L = m.config().n_layers, Tn = int(ids.size());
  ASSERT_EQ(lens.top_ids.size(), size_t(L) + 1);
  EXPECT_EQ(lens.top_ids.back()[size_t(Tn) - 1][0], answer);
  EXPECT_NEAR(lens.answer_probs.back(), plain_prob(m, ids, answer), 1e-5);
  EXPECT_GE(lens.top_probs[0][0][0], lens.top_probs[0][0][1]);

  const auto maps = attention_maps(m, ids);
  ASSERT_EQ(maps.size(), size_t(L));
  const int H = m.config().n_heads;
  for (const auto& a : maps)
    for (int h = 0; h < H; ++h)
      for (int q = 0; q < Tn; ++q) {
        double sum = 0;
        for (int k = 0; k < Tn; ++k) {
          const float v = a[(size_t(h) * Tn + q) * Tn + k];
          if (k > q) {
            EXPECT_EQ(v, 0.f);
          }
          sum += v;
        }
        EXPECT_NEAR(sum, 1.0, 1e-5);
      }
}

TEST(ExplainHooks, AHookThatChangesNothingLeavesTheForwardAsItWas) {
  test::TinyModel tm;
  const auto ids = tm.tok->encode("Once upon a time, there was a dog.");
  std::vector<int32_t> in(ids.begin(), ids.end());
  tm.m->forward(in.data(), 1, int(in.size()));
  std::vector<float> before(tm.m->logits(), tm.m->logits() + in.size() * tm.tok->vocab_size());
  struct Counter : model::ForwardHook<float> {
    int calls = 0;
    void at(Site, int, float*, int, int) override { ++calls; }
  } counter;
  tm.m->set_hook(&counter);
  tm.m->forward(in.data(), 1, int(in.size()));
  tm.m->set_hook(nullptr);
  EXPECT_EQ(counter.calls, 1 + 5 * tm.m->config().n_layers);
  EXPECT_EQ(std::vector<float>(tm.m->logits(), tm.m->logits() + before.size()), before);
}

// ROME's window: range(l - w // 2, l - (-w // 2)) clipped to the model.
TEST(ExplainTrace, WindowLayersAreRomes) {
  EXPECT_EQ(window_layers(2, 1, 6), std::vector<int>({2}));
  EXPECT_EQ(window_layers(2, 3, 6), std::vector<int>({1, 2, 3}));
  EXPECT_EQ(window_layers(0, 10, 6), std::vector<int>({0, 1, 2, 3, 4}));
  EXPECT_EQ(window_layers(5, 10, 12), std::vector<int>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(window_layers(11, 10, 12), std::vector<int>({6, 7, 8, 9, 10, 11}));
}

TEST(ExplainPrompt, SubjectAndAnswerTokensAndTheirErrors) {
  test::TinyModel tm;
  const auto p = tokenize_prompt(*tm.tok, "Once upon a time, there was a dog.", "prompt");
  const auto [b, e] = find_subject(p, "a dog", "prompt");
  std::string covered;
  for (int i = b; i < e; ++i) covered += p.pieces[size_t(i)];
  EXPECT_NE(covered.find("a dog"), std::string::npos);
  try {
    find_subject(p, "Lily", "prompts.jsonl:3");
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(err.message().find("prompts.jsonl:3: the subject 'Lily' is not in the prompt"), std::string::npos);
  }
  EXPECT_THROW(answer_token(*tm.tok, "", false, "x"), Error);
  const std::string longer = " time, there was";  // several tokens
  ASSERT_GT(tm.tok->encode(longer, false).size(), 1u);
  try {
    answer_token(*tm.tok, longer, false, "--answer");
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(err.message().find("--first-token"), std::string::npos);
  }
  EXPECT_EQ(answer_token(*tm.tok, longer, true, "--answer"), int32_t(tm.tok->encode(longer, false)[0]));
  EXPECT_THROW(tokenize_prompt(*tm.tok, "", "prompt"), Error);
}

TEST(ExplainPatch, RefusesPromptsOfDifferentLengthsAndEqualAnswers) {
  test::TinyModel tm;
  std::vector<int32_t> a{1, 2, 3}, b{1, 2};
  EXPECT_THROW(activation_patch(*tm.m, a, b, 4, 5), Error);
  EXPECT_THROW(activation_patch(*tm.m, a, a, 4, 4), Error);
}

}  // namespace
}  // namespace slm::explain
