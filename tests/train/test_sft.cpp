#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "slm/data/sft_records.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/model/model_files.h"
#include "slm/train/sft.h"
#include "slm/train/pretrain.h"
#include "slm/util/error.h"
#include "test_util.h"
#include "train/finetune_fixture.h"

using namespace slm;
using namespace slm::train;

using test::base_model;
using test::shard_dir;
using test::write_records;

namespace {

const tokenizer::Tokenizer& tok() {
  static tokenizer::Tokenizer t = tokenizer::Tokenizer::load(shard_dir() + "/tokenizer.json");
  return t;
}

FinetuneOptions options(const test::TempDir& dir, const std::string& out, int64_t steps) {
  return test::finetune_options(dir, out, steps);
}

}  // namespace

TEST(Sft, MasksThePromptAndTrainsOnTheResponseAndEndOfText) {
  std::vector<data::Conversation> convs = {data::alpaca_conversation("Say hi.", "", "Hi there!")};
  SftEncodeStats st;
  auto ex = encode_conversations(convs, tok(), 512, false, st);
  ASSERT_EQ(ex.size(), 1u);
  auto prompt = tok().encode(tokenizer::alpaca_prompt("Say hi."), false);
  auto response = tok().encode("Hi there!", false);
  ASSERT_EQ(ex[0].tokens.size(), prompt.size() + response.size() + 1);
  EXPECT_EQ(ex[0].tokens.back(), int32_t(tok().eot()));
  for (size_t i = 0; i < ex[0].tokens.size(); ++i) EXPECT_EQ(ex[0].trained[i], i >= prompt.size()) << i;
  EXPECT_EQ(ex[0].counted(), int64_t(response.size() + 1));
  EXPECT_EQ(st.response_tokens, int64_t(response.size() + 1));

  // In a batch: targets are the next token where it is a response token, -1 elsewhere,
  // and the shorter row is padded with -1 targets.
  std::vector<data::Conversation> two = {convs[0], data::alpaca_conversation("Count.", "1 2", "3 4 5 6 7 8 9 10")};
  auto ex2 = encode_conversations(two, tok(), 512, false, st);
  Batch b;
  fill_sft_batch(ex2, {0, 1}, int32_t(tok().eot()), b);
  ASSERT_EQ(b.B, 2);
  ASSERT_EQ(size_t(b.T), std::max(ex2[0].tokens.size(), ex2[1].tokens.size()) - 1);
  int64_t counted = 0;
  for (int r = 0; r < 2; ++r)
    for (int t = 0; t < b.T; ++t) {
      const auto& e = ex2[size_t(r)];
      int32_t want = size_t(t) + 1 < e.tokens.size() && e.trained[size_t(t) + 1] ? e.tokens[size_t(t) + 1] : -1;
      EXPECT_EQ(b.y[size_t(r * b.T + t)], want) << r << "," << t;
      if (size_t(t) + 1 < e.tokens.size()) {
        EXPECT_EQ(b.x[size_t(r * b.T + t)], e.tokens[size_t(t)]);
      }
      counted += want >= 0;
    }
  EXPECT_EQ(b.counted, counted);
  EXPECT_EQ(counted, ex2[0].counted() + ex2[1].counted());
  EXPECT_EQ(b.weight, double(counted));

  // Per example: each response's targets weigh 1 / its length, so each example weighs 1.
  fill_sft_batch(ex2, {0, 1}, int32_t(tok().eot()), b, true);
  EXPECT_NEAR(b.weight, 2.0, 1e-6);
  for (int r = 0; r < 2; ++r) {
    double sum = 0;
    for (int t = 0; t < b.T; ++t) sum += b.w[size_t(r * b.T + t)];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(Sft, WordsWeightMarksTheTokensOfTheRequiredWordsInAnyFormAndWeighsThem) {
  // "jump" used as "jumped", "ball" twice (once capitalised), "happy" not at all; the
  // prompt names them too but is never marked.
  data::Conversation c = data::alpaca_conversation("Use the words ball, jump and happy.", "",
                                                   "Ball games are fun. Tom jumped over the ball.");
  c.words = {"ball", "jump", "happy"};
  SftEncodeStats st;
  auto plain = encode_conversations({c}, tok(), 512, false, st);
  EXPECT_TRUE(plain[0].key.empty());  // not asked for: nothing marked
  auto ex = encode_conversations({c}, tok(), 512, false, st, /*mark_words=*/true);
  ASSERT_EQ(ex[0].key.size(), ex[0].tokens.size());
  std::string marked;
  for (size_t i = 0; i < ex[0].tokens.size(); ++i) {
    if (!ex[0].key[i]) continue;
    EXPECT_TRUE(ex[0].trained[i]) << i;  // only response tokens
    tok().decode_append(uint32_t(ex[0].tokens[i]), marked);
  }
  // Whole tokens of the three uses, whatever the tokenizer cut them into (a space before
  // a word may be in its first token).
  for (const char* w : {"Ball", "jumped", "ball"}) EXPECT_NE(marked.find(w), std::string::npos) << marked;
  for (const char* w : {"games", "fun", "Tom", "over", "happy"}) EXPECT_EQ(marked.find(w), std::string::npos) << marked;
  EXPECT_EQ(st.key_tokens, std::count(ex[0].key.begin(), ex[0].key.end(), 1));

  // In a batch, a key target weighs key_weight times another of its response, and per
  // example the response still weighs 1 in all.
  Batch b;
  fill_sft_batch(ex, {0}, int32_t(tok().eot()), b, true, 10.0);
  const double n = double(ex[0].counted()), total = n + 9.0 * double(st.key_tokens);
  double sum = 0;
  for (int t = 0; t < b.T; ++t) {
    const bool trained = b.y[size_t(t)] >= 0, key = ex[0].key[size_t(t) + 1];
    EXPECT_NEAR(b.w[size_t(t)], trained ? (key ? 10.0 : 1.0) / total : 0.0, 1e-7) << t;
    sum += b.w[size_t(t)];
  }
  EXPECT_NEAR(b.weight, sum, 1e-5);
  EXPECT_NEAR(b.weight, 1.0, 1e-5);
  // Token loss (not per example): weights 1 and 10.
  fill_sft_batch(ex, {0}, int32_t(tok().eot()), b, false, 10.0);
  EXPECT_NEAR(b.weight, n + 9.0 * double(st.key_tokens), 1e-4);
}

TEST(Sft, RecordsLongerThanTheContextAreSkippedOrTruncatedAndCounted) {
  std::string longer;
  for (int i = 0; i < 100; ++i) longer += "and the dog ran ";
  std::vector<data::Conversation> convs = {data::alpaca_conversation("Go on.", "", longer),
                                           data::alpaca_conversation("Hi.", "", "Hi."),
                                           data::alpaca_conversation("Go on.", longer, "ok")};
  SftEncodeStats skip, cut;
  auto a = encode_conversations(convs, tok(), 160, false, skip);
  EXPECT_EQ(a.size(), 1u);
  EXPECT_EQ(skip.too_long, 2);
  auto b = encode_conversations(convs, tok(), 160, true, cut);
  ASSERT_EQ(b.size(), 2u) << "the first is cut; the third has no response token left and is skipped";
  EXPECT_EQ(cut.truncated, 1);
  EXPECT_EQ(cut.too_long, 1);
  EXPECT_EQ(b[0].tokens.size(), 161u);
}

TEST(Sft, BatchesCoverEveryExampleEachEpochAndResume) {
  std::vector<SftExample> ex(10);
  for (size_t i = 0; i < ex.size(); ++i) ex[i].tokens.assign(i + 2, int32_t(i)), ex[i].trained.assign(i + 2, 1);
  SftBatches a(ex, 3, 7, 0, false);
  EXPECT_EQ(a.batches_per_epoch(), 4u);
  std::set<int32_t> seen;
  Batch b;
  for (int i = 0; i < 4; ++i) {
    a.next(b);
    for (int r = 0; r < b.B; ++r) seen.insert(b.x[size_t(r * b.T)]);
  }
  EXPECT_EQ(seen.size(), 10u);
  a.next(b);  // into the second epoch
  auto state = a.state();
  SftBatches c(ex, 3, 7, 0, false);
  c.restore(state);
  Batch x, y;
  for (int i = 0; i < 6; ++i) {
    a.next(x);
    c.next(y);
    EXPECT_EQ(x.x, y.x);
    EXPECT_EQ(x.y, y.y);
  }
}

TEST(Finetune, LearnsTheTaskAndWritesAModelWithItsTemplate) {
  test::TempDir dir;
  auto r = finetune(options(dir, "ft", 40));
  ASSERT_EQ(r.losses.size(), 40u);
  // From about 5.9 to about 3.2 in this run: the response format is learnt quickly.
  EXPECT_LT(r.losses.back(), 0.65 * r.losses.front());
  for (const char* f : {"ft/model/config.json", "ft/model/model.safetensors", "ft/model/tokenizer.json",
                        "ft/model/prompt_template.json", "ft/metrics.jsonl", "ft/loss.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_TRUE(tokenizer::has_alpaca_template(dir / "ft/model"));
  EXPECT_FALSE(tokenizer::has_alpaca_template(base_model()));
}

TEST(Finetune, ResumeIsBitIdentical) {
  test::TempDir dir;
  test::expect_resume_bit_identical(dir, [&](const std::string& out) { return options(dir, out, 10); });
  auto ma = model::load_model(dir / "a/model"), mb = model::load_model(dir / "b/model");
  EXPECT_TRUE(std::equal(ma->params(), ma->params() + ma->num_params(), mb->params()));
}

TEST(Finetune, ABaseWithoutATokenizerIsAnError) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "bare");
  for (const char* f : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(std::filesystem::path(base_model()) / f, std::filesystem::path(dir / "bare") / f);
  auto o = options(dir, "x", 2);
  o.base = dir / "bare";
  try {
    finetune(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("tokenizer.json"), std::string::npos) << e.what();
  }
}
