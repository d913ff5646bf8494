// slm merge: base + sum of w x (model - base), weight by weight; the identities that pin it
// (weight 0 is the base, 1 is the model, 0.5 the midpoint, two halves of one model that
// model); the prompt template carried over; and models that are not of the base's shape or
// tokenizer refused with the reason, nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "slm/model/merge.h"
#include "slm/model/model_files.h"
#include "slm/tokenizer/bpe_trainer.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/error.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace slm;
namespace fs = std::filesystem;

namespace {

// A folder with t's tokenizer and its model's weights, each moved by `shift` times a
// pattern of its own (seeded), so two folders differ at every weight.
std::string write_model(const fs::path& dir, const test::TinyModel& t, float shift, int seed) {
  fs::create_directories(dir);
  model::Transformer<float> m(t.m->config());
  std::copy(t.m->params(), t.m->params() + t.m->num_params(), m.params());
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] += shift * float((i * 7 + seed * 13) % 11 - 5);
  model::save_model_files(dir.string(), m);
  test::spit(dir / "tokenizer.json", t.tok->to_json());
  return dir.string();
}

std::vector<float> weights_of(const std::string& dir) {
  auto m = model::load_model(dir);
  return std::vector<float>(m->params(), m->params() + m->num_params());
}

}  // namespace

TEST(Merge, IsTheBasePlusTheWeightedChanges) {
  test::TempDir dir;
  test::TinyModel t;
  const std::string base = write_model(dir / "base", t, 0, 0), a = write_model(dir / "a", t, 0.01f, 1),
                    b = write_model(dir / "b", t, 0.02f, 2);
  const auto w0 = weights_of(base), wa = weights_of(a), wb = weights_of(b);
  auto merged = [&](const std::vector<model::MergeTerm>& terms, const std::string& name) {
    model::merge_models(base, terms, dir / name);
    return weights_of(dir / name);
  };
  EXPECT_EQ(merged({{0.0, a}}, "zero"), w0) << "weight 0: the base, bit for bit";
  EXPECT_EQ(merged({{1.0, a}}, "one"), wa) << "weight 1: the model, bit for bit";
  EXPECT_EQ(merged({{0.5, a}, {0.5, a}}, "halves"), wa) << "two halves of one change are the change";
  const auto soup = merged({{0.5, a}, {1.5, b}, {-0.25, a}}, "soup");
  for (size_t i = 0; i < w0.size(); ++i) {
    const double want = double(w0[i]) + 0.25 * (double(wa[i]) - w0[i]) + 1.5 * (double(wb[i]) - w0[i]);
    ASSERT_EQ(soup[i], float(want)) << "weight " << i << ": the sum in double, rounded once";
  }
  const auto s = model::merge_models(base, {{0.5, a}}, dir / "half");
  EXPECT_EQ(s.params, t.m->num_params());
  ASSERT_EQ(s.term_norms.size(), 1u);
  EXPECT_NEAR(s.merged_norm, 0.5 * s.term_norms[0], 1e-6 * s.term_norms[0]);
  // The merge is a model folder the rest of slm loads, with the base's tokenizer.
  auto loaded = model::load_model_and_tokenizer(dir / "half");
  EXPECT_EQ(loaded.tok->to_json(), t.tok->to_json());
  EXPECT_FALSE(loaded.alpaca_template);
}

TEST(Merge, KeepsThePromptTemplateOfATunedModel) {
  test::TempDir dir;
  test::TinyModel t;
  const std::string base = write_model(dir / "base", t, 0, 0), tuned = write_model(dir / "tuned", t, 0.01f, 1);
  tokenizer::write_template_file(tuned);
  model::merge_models(base, {{0.5, tuned}}, dir / "m");
  EXPECT_TRUE(tokenizer::has_alpaca_template(dir / "m")) << "the merge answers requests as the tuned model does";
}

TEST(Merge, RefusesAModelOfAnotherShapeOrTokenizer) {
  test::TempDir dir;
  test::TinyModel t, longer(128);
  const std::string base = write_model(dir / "base", t, 0, 0);
  auto refusal = [&](const std::string& other) {
    try {
      model::merge_models(base, {{0.5, other}}, dir / "out");
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  const std::string ctx = refusal(write_model(dir / "ctx", longer, 0, 0));
  EXPECT_NE(ctx.find("context is 96 in the base and 128 here"), std::string::npos) << ctx;
  EXPECT_NE(ctx.find("ctx"), std::string::npos) << "names the model: " << ctx;

  // The same shape, another tokenizer (the same size, other merges).
  const std::string other = write_model(dir / "tok", t, 0, 0);
  tokenizer::WordCounts wc;
  for (int i = 0; i < 30; ++i) wc.add_text("A cat sat on a mat and the bird sang a song. ");
  tokenizer::TrainOptions o;
  o.vocab_size = int(t.tok->vocab_size()), o.quiet = true, o.min_frequency = 1;
  test::spit(fs::path(other) / "tokenizer.json", tokenizer::train_bpe(wc, o).to_json());
  const std::string tok = refusal(other);
  EXPECT_NE(tok.find("tokenizer"), std::string::npos) << tok;

  // A model upcycled to experts has every field of the dense base and more.
  model::ModelConfig moe_config = t.m->config();
  moe_config.n_experts = 4;
  model::Transformer<float> moe(moe_config);
  moe.init_weights(1);
  fs::create_directories(dir / "moe");
  model::save_model_files(dir / "moe", moe);
  test::spit(dir / "moe/tokenizer.json", t.tok->to_json());
  const std::string experts = refusal(dir / "moe");
  EXPECT_NE(experts.find("is not set in the base and"), std::string::npos) << experts;

  EXPECT_FALSE(fs::exists(dir / "out")) << "a refused merge writes nothing";
  // Never over a folder it reads: the base stays as it was.
  const std::string before = test::slurp(dir / "base/model.safetensors");
  EXPECT_THROW(model::merge_models(base, {{0.5, base}}, base), Error);
  EXPECT_EQ(test::slurp(dir / "base/model.safetensors"), before);
  EXPECT_THROW(model::merge_models(base, {{std::nan(""), base}}, dir / "nan"), Error);
  EXPECT_EQ(refusal(write_model(dir / "ok", t, 0.01f, 1)), "no error") << "a model of the base's shape merges";
  EXPECT_THROW(model::merge_models(base, {}, dir / "none"), Error) << "nothing to merge";
  EXPECT_FALSE(fs::exists(dir / "none"));
}
