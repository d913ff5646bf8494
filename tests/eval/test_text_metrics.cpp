#include <gtest/gtest.h>

#include "slm/stories/vocabulary.h"
#include "slm/eval/spelling.h"
#include "slm/eval/text_metrics.h"

using namespace slm;
using namespace slm::eval;

namespace {
const ChildVocabulary& child() {
  static stories::Vocabulary v = stories::Vocabulary::builtin();
  static ChildVocabulary c(v);
  return c;
}
}  // namespace

TEST(TextMetrics, SyllablesByVowelGroups) {
  EXPECT_EQ(syllables("cat"), 1);
  EXPECT_EQ(syllables("make"), 1);
  EXPECT_EQ(syllables("little"), 2);
  EXPECT_EQ(syllables("banana"), 3);
  EXPECT_EQ(syllables("happy"), 2);
  EXPECT_EQ(syllables("the"), 1);
}

TEST(TextMetrics, FleschKincaidOfAKnownText) {
  // 8 words, 2 sentences, 9 syllables: 0.39 * 4 + 11.8 * 9/8 - 15.59 = -0.755.
  auto m = story_metrics("The cat sat. The dog ran to a mat.", child());
  EXPECT_EQ(m.words, 9);
  EXPECT_EQ(m.sentences, 2);
  EXPECT_NEAR(m.fk_grade, 0.39 * 4.5 + 11.8 * 1.0 - 15.59, 1e-9);
  EXPECT_FALSE(m.unfinished);
  EXPECT_DOUBLE_EQ(m.child_vocab_share, 1.0);
}

TEST(TextMetrics, GrammarChecksTheStoryWorldAllows) {
  auto m = story_metrics("Tom saw a apple and an ball. Tom was happy. She smiled. the the dog ran and", child());
  EXPECT_TRUE(m.unfinished);
  EXPECT_EQ(m.article_errors, 2);
  EXPECT_EQ(m.doubled_words, 1);
  EXPECT_EQ(m.pronoun_checks, 1);
  EXPECT_EQ(m.pronoun_errors, 1) << "Tom is a boy's name in the vocabulary";
  auto ok = story_metrics("Lily found a ball. She was glad.", child());
  EXPECT_EQ(ok.pronoun_checks, 1);
  EXPECT_EQ(ok.pronoun_errors, 0);
  EXPECT_LT(story_metrics("Zygomorphic photosynthesis.", child()).child_vocab_share, 0.5);
}

TEST(TextMetrics, DiversityFigures) {
  std::vector<std::vector<std::string>> same = {words_of("the cat sat on the mat today"), words_of("the cat sat on the mat today")};
  EXPECT_NEAR(self_bleu(same), 1.0, 1e-12);
  EXPECT_NEAR(distinct_n(same, 1), 6.0 / 14, 1e-12);
  std::vector<std::vector<std::string>> apart = {words_of("a b c d e f"), words_of("g h i j k l")};
  EXPECT_EQ(self_bleu(apart), 0.0);
  EXPECT_EQ(distinct_n(apart, 2), 1.0);
  std::unordered_set<uint64_t> seen;
  add_4grams(words_of("one two three four five"), seen);
  EXPECT_NEAR(novel_4gram_share({words_of("one two three four six")}, seen), 0.5, 1e-12);
  EXPECT_NEAR(story_metrics("a b c d a b c d", child()).repeated_4grams, 1.0 / 5, 1e-12);
}

TEST(Spelling, HunspellKnowsEnglishWords) {
  SpellChecker s;
  EXPECT_TRUE(s.known("happy"));
  EXPECT_FALSE(s.known("hapy"));
  auto bad = s.misspelled("The dgo ran to the prak. It's fun!");
  EXPECT_EQ(bad, (std::vector<std::string>{"dgo", "prak"}));
  EXPECT_THROW(SpellChecker("/nonexistent"), std::exception);
}
