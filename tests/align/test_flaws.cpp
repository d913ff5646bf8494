// GRPO's --flaw-debit finds its words here (flaws.h): made-up words, doubled words and
// loops are found at their exact places; the story world's names and words, the request's
// own words and the stories the generator writes are not flaws.
#include <gtest/gtest.h>

#include "slm/align/flaws.h"
#include "slm/stories/story.h"
#include "slm/stories/vocabulary.h"

using namespace slm;
using namespace slm::align;

namespace {

const FlawFinder& finder() {
  static FlawFinder f;
  return f;
}

// The flawed words as "kind:word", in order.
std::vector<std::string> flaws(const std::string& text, const std::string& request = "") {
  std::vector<std::string> out;
  for (const Flaw& f : finder().find(text, finder().request_words(request))) out.push_back(std::string(f.kind) + ":" + text.substr(f.begin, f.end - f.begin));
  return out;
}

}  // namespace

TEST(Flaws, AMadeUpWordIsFoundAtItsPlace) {
  const std::string text = "The little dog found a graagle in the park. It was a wumpling's hat.";
  auto found = finder().find(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(text.substr(found[0].begin, found[0].end - found[0].begin), "graagle");
  EXPECT_STREQ(found[0].kind, "misspelled");
  EXPECT_EQ(text.substr(found[1].begin, found[1].end - found[1].begin), "wumpling's");
  EXPECT_EQ(flaws("A quiet story. Nothing is wrong in it, and the cat's toy is red."), std::vector<std::string>{});
}

TEST(Flaws, TheRequestsOwnWordsAreNotMisspelled) {
  const std::string text = "Tim saw a zorp. The zorp was kind.";
  EXPECT_EQ(flaws(text), (std::vector<std::string>{"misspelled:zorp", "misspelled:zorp"}));
  EXPECT_EQ(flaws(text, "Write a story that uses the word \"Zorp\"."), std::vector<std::string>{});
  // In the forms the words rule counts as uses of it.
  EXPECT_EQ(flaws("Two zorps and the zorp's hat. They zorped.", "Use the word zorp."), std::vector<std::string>{});
}

TEST(Flaws, TheStoryWorldsNamesAndWordsAreKnown) {
  const auto& v = stories::Vocabulary::shared();
  for (const auto& n : v.names) EXPECT_EQ(flaws("Then " + n.name + " came."), std::vector<std::string>{});
  for (const auto& n : v.nouns) EXPECT_EQ(flaws("I saw the " + n.word + " and two " + n.plural + "."), std::vector<std::string>{});
  // The generator's own stories: what a fine-tuned model copies is not a flaw.
  stories::StoryGenerator gen;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    const std::string story = gen.generate(7, seed).text;
    EXPECT_EQ(flaws(story), std::vector<std::string>{}) << story;
  }
}

TEST(Flaws, DoubledWordsAndLoops) {
  EXPECT_EQ(flaws("The shop shop was big."), std::vector<std::string>{"doubled:shop"});
  EXPECT_EQ(flaws("She had had a nap. He said that that was fine."), std::vector<std::string>{});
  EXPECT_EQ(flaws("The Dog dog ran."), std::vector<std::string>{"doubled:dog"});
  // The 4-gram "the big red ball" said a third time: only its last word is the loop.
  EXPECT_EQ(flaws("I like the big red ball. Mom has the big red ball. We see the big red ball."),
            std::vector<std::string>{"loop:ball"});
  // "ran home and ran" and "home and ran home" come a third time at the last two words.
  EXPECT_EQ(flaws("He ran home and ran home and ran home and ran home."),
            (std::vector<std::string>{"loop:ran", "loop:home"}));
  // Three times, but not within 30 words: the way the generator repeats its phrases.
  std::string far = "I like the big red ball.";
  for (int i = 0; i < 2; ++i) far += " Then we went to the park and played on the swings with all of our friends until dark. We have the big red ball.";
  EXPECT_EQ(flaws(far), std::vector<std::string>{});
  EXPECT_EQ(flaws("It was fun. It was good. The yo-yo was red. A day.\n\nDay came."), std::vector<std::string>{});
  // The first kind that applies: a made-up word said over and over is misspelled.
  EXPECT_EQ(flaws("a gloop gloop"), (std::vector<std::string>{"misspelled:gloop", "misspelled:gloop"}));
}
