#include <gtest/gtest.h>

#include "slm/util/rng.h"
#include "slm/util/rouge.h"

using namespace slm;

TEST(Rouge, TokensAreLowerCaseLetterAndDigitRuns) {
  EXPECT_EQ(rouge_tokens("The cat's 2 hats!"), (std::vector<std::string>{"the", "cat", "s", "2", "hats"}));
  EXPECT_TRUE(rouge_tokens(" ,.!").empty());
}

TEST(Rouge, LFMeasureMatchesTheDefinition) {
  // LCS("the cat sat on the mat", "the cat is on the mat") = "the cat on the mat" = 5.
  EXPECT_NEAR(rouge_l("the cat sat on the mat", "the cat is on the mat"), 2.0 * 5 / 12, 1e-12);
  // rouge_score's example: "The quick brown fox jumps over the lazy dog" vs "The quick brown dog jumps on the log."
  // LCS = the quick brown jumps the = 5 (9 and 8 tokens): P = 5/8, R = 5/9, F = 10/17.
  EXPECT_NEAR(rouge_l("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log."), 10.0 / 17,
              1e-12);
  EXPECT_EQ(rouge_l("same words here", "Same, words... here!"), 1.0);
  EXPECT_EQ(rouge_l("", "anything"), 0.0);
  EXPECT_EQ(rouge_l("a b c", "d e f"), 0.0);
}

TEST(Rouge, DedupKeepsExactlyWhatAllPairsComparisonKeeps) {
  // Random texts over a small vocabulary, many of them near-duplicates: the indexed filter
  // must agree with comparing every pair, for several thresholds.
  const std::vector<std::string> words = {"write", "a", "story", "about", "cat", "dog", "the", "ball", "red", "big",
                                          "use", "words", "and", "happy", "sad"};
  Rng rng(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 400; ++i) {
    std::string t;
    int n = 1 + int(rng.below(12));
    for (int k = 0; k < n; ++k) t += words[rng.below(uint32_t(words.size()))] + " ";
    texts.push_back(t);
  }
  texts.push_back("");
  texts.push_back("");
  for (double thr : {0.5, 0.7, 0.9}) {
    auto keep = rouge_l_dedup(texts, thr);
    std::vector<std::vector<std::string>> kept;
    size_t dropped = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto t = rouge_tokens(texts[i]);
      bool dup = false;
      for (const auto& k : kept) dup = dup || rouge_l(t, k) > thr;
      if (t.empty() && i + 1 == texts.size()) dup = true;  // the second empty text
      EXPECT_EQ(keep[i], !dup) << "text " << i << " at threshold " << thr << ": " << texts[i];
      if (!dup) kept.push_back(t);
      dropped += dup;
    }
    EXPECT_GT(dropped, 10u) << "the test data has near-duplicates at " << thr;
  }
}
