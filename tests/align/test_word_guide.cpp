// The word guide of slm align rft --guide (word_guide.h): which logit gets which bonus as
// a word is started, continued and written, and that generation with it writes the words
// while a guide of 0 changes nothing.
#include <gtest/gtest.h>

#include <vector>

#include "slm/align/word_guide.h"
#include "slm/infer/generate.h"
#include "tiny_model.h"

using namespace slm;
using namespace slm::align;

namespace {

const test::TinyModel& tiny() {
  static test::TinyModel t(96);
  return t;
}

// The bonus each token gets from the guide after `generated`.
std::vector<float> bonuses(const WordGuide& g, const std::vector<uint32_t>& generated) {
  std::vector<float> l(tiny().tok->vocab_size(), 0.f);
  g.apply(generated, l.data());
  return l;
}

}  // namespace

TEST(WordGuide, StartsContinuesAndStopsAtAWrittenWord) {
  const auto& tok = *tiny().tok;
  // "puppy" is not in the tiny vocabulary: several tokens after the space.
  WordGuide g(tok, {"puppy"}, 1.5f, 3.f);
  ASSERT_EQ(g.spellings().size(), 1u);
  const auto w = g.spellings()[0];
  ASSERT_GE(w.size(), 2u);
  EXPECT_EQ(w, tok.encode(" puppy"));

  // Nothing of it written: its first token, +B.
  const auto other = tok.encode(" dog");
  auto b = bonuses(g, other);
  EXPECT_FLOAT_EQ(b[w[0]], 1.5f);
  float sum = 0;
  for (float x : b) sum += x;
  EXPECT_FLOAT_EQ(sum, 1.5f);  // one token only

  // Started: its next token, +C, and only that one.
  std::vector<uint32_t> started = other;
  started.push_back(w[0]);
  b = bonuses(g, started);
  EXPECT_FLOAT_EQ(b[w[1]], 3.0f);
  sum = 0;
  for (float x : b) sum += x;
  EXPECT_FLOAT_EQ(sum, 3.0f);

  // Written: no bonus.
  std::vector<uint32_t> done = other;
  done.insert(done.end(), w.begin(), w.end());
  EXPECT_TRUE(WordGuide::written(done, w));
  b = bonuses(g, done);
  for (float x : b) EXPECT_EQ(x, 0.f);
}

TEST(WordGuide, WithNoStartBonusOnlyAStartedWordIsFinished) {
  const auto& tok = *tiny().tok;
  WordGuide g(tok, {"puppy"}, 0.f, 3.f);
  const auto w = g.spellings()[0];
  for (float x : bonuses(g, tok.encode(" dog"))) EXPECT_EQ(x, 0.f);
  auto b = bonuses(g, {w[0]});
  EXPECT_FLOAT_EQ(b[w[1]], 3.f);
}

TEST(WordGuide, EachWordOfARequestItsOwnBonus) {
  const auto& tok = *tiny().tok;
  WordGuide g(tok, {"dog", "time", ""}, 2.f, 4.f);  // an empty word is no word
  ASSERT_EQ(g.spellings().size(), 2u);
  const auto dog = tok.encode(" dog"), time = tok.encode(" time");
  ASSERT_EQ(dog.size(), 1u);
  ASSERT_EQ(time.size(), 1u);
  auto b = bonuses(g, {});
  EXPECT_FLOAT_EQ(b[dog[0]], 2.f);
  EXPECT_FLOAT_EQ(b[time[0]], 2.f);
  b = bonuses(g, dog);  // "dog" written: only "time" is still raised
  EXPECT_FLOAT_EQ(b[dog[0]], 0.f);
  EXPECT_FLOAT_EQ(b[time[0]], 2.f);
}

TEST(WordGuide, GenerationWritesTheWordsAndAZeroGuideChangesNothing) {
  const auto& t = tiny();
  infer::GenerateOptions go;
  go.max_tokens = 30;
  go.stop_at_eot = false;
  go.sampling.temperature = 0;
  const std::vector<std::string> prompts = {"Once upon", "The dog"};
  const auto plain = infer::generate_batch(*t.m, *t.tok, prompts, go);

  // A bonus past any logit of this peaked model, for sequence 1 only: it writes " puppy" whole; sequence 0 is untouched.
  const WordGuide strong(*t.tok, {"puppy"}, 1e6f, 1e6f), none(*t.tok, {"puppy"}, 0.f, 0.f);
  go.bias = [&](size_t seq, const std::vector<uint32_t>& generated, float* logits) {
    if (seq == 1) strong.apply(generated, logits);
  };
  auto guided = infer::generate_batch(*t.m, *t.tok, prompts, go);
  EXPECT_EQ(guided[0].text, plain[0].text);
  EXPECT_NE(plain[1].text.find(" puppy"), 0u);
  EXPECT_EQ(guided[1].text.rfind(" puppy", 0), 0u) << guided[1].text;  // written at once, then left alone
  EXPECT_EQ(guided[1].text.find(" puppy", 1), std::string::npos) << guided[1].text;

  go.bias = [&](size_t, const std::vector<uint32_t>& generated, float* logits) { none.apply(generated, logits); };
  auto zero = infer::generate_batch(*t.m, *t.tok, prompts, go);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(zero[i].text, plain[i].text);
}
