// Minimal pairs for the required words (slm align preferences --rejected swap-words): the
// swapped story differs from the reference only where the required words were, each
// replaced by a word of its kind in the same form.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>

#include "slm/align/word_swap.h"
#include "slm/stories/story_checks.h"

using namespace slm;

namespace {

const stories::Noun* noun(const stories::Vocabulary& v, const std::string& w) {
  for (const auto& n : v.nouns)
    if (n.word == w) return &n;
  return nullptr;
}

}  // namespace

TEST(WordSwap, ReplacesEachRequiredWordByOneOfItsKindInTheSameForm) {
  const auto& vocab = stories::Vocabulary::shared();
  const std::vector<std::string> words = {"octopus", "tie", "fizzy", "snow sled"};
  const std::string story =
      "An octopus tied a bow. The octopus was fizzy. Two snow sleds were fizzy. Octopus said, \"Hi!\"";
  for (uint64_t seed : {1, 2, 3, 4, 5, 6, 7, 8}) {
    const std::string out = align::swap_required_words(story, words, vocab, seed);
    SCOPED_TRACE(out);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(
        out, m, std::regex(R"(^(A|An) ([a-z ]+) ([a-z]+) a bow\. The \2 was ([a-z ]+)\. Two ([a-z ]+) were \4\. ([A-Z][a-z ]*) said, "Hi!"$)")));
    // The animal is another animal, the same one everywhere (capitalised at the sentence's
    // start), with its article.
    const auto* animal = noun(vocab, m[2]);
    ASSERT_NE(animal, nullptr);
    EXPECT_EQ(animal->kind, stories::NounKind::Animal);
    EXPECT_NE(animal->word, "octopus");
    EXPECT_EQ(m[1].str(), std::string(stories::indefinite_article(animal->word)) == "an" ? "An" : "A");
    std::string cap = animal->word;
    cap[0] = char(std::toupper(cap[0]));
    EXPECT_EQ(m[6].str(), cap);
    // "tied" became another verb's past form.
    EXPECT_TRUE(std::any_of(vocab.verbs.begin(), vocab.verbs.end(),
                            [&](const stories::Verb& v) { return v.past == m[3] && v.base != "tie"; }));
    // "fizzy" another adjective, "snow sleds" another toy's plural.
    EXPECT_TRUE(std::any_of(vocab.adjectives.begin(), vocab.adjectives.end(),
                            [&](const stories::Adjective& a) { return a.word == m[4] && a.word != "fizzy"; }));
    EXPECT_TRUE(std::any_of(vocab.nouns.begin(), vocab.nouns.end(), [&](const stories::Noun& n) {
      return n.plural == m[5] && n.kind == stories::NounKind::Toy && n.word != "snow sled";
    }));
    // None of the required words is left, in any form the words rule counts.
    for (const auto& w : words) EXPECT_FALSE(stories::uses_required_word(out, w, vocab)) << w;
    EXPECT_EQ(out, align::swap_required_words(story, words, vocab, seed));  // the seed decides
  }
}

TEST(WordSwap, VerbFormsFollowTheRequiredOnes) {
  const auto& vocab = stories::Vocabulary::shared();
  const std::string out = align::swap_required_words("Tom likes to tie. He ties, tied and is tying.", {"tie"}, vocab, 3);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(out, m, std::regex(R"(^Tom likes to ([a-z]+)\. He ([a-z]+), ([a-z]+) and is ([a-z]+)\.$)")))
      << out;
  const auto v = std::find_if(vocab.verbs.begin(), vocab.verbs.end(), [&](const stories::Verb& v) { return v.base == m[1]; });
  ASSERT_NE(v, vocab.verbs.end()) << out;
  EXPECT_NE(v->base, "tie");
  EXPECT_EQ(m[3].str(), v->past);
  EXPECT_EQ(m[4].str(), v->ing);
  EXPECT_EQ(m[2].str().substr(0, v->base.size() - (v->base.back() == 'y' ? 1 : 0)),
            v->base.substr(0, v->base.size() - (v->base.back() == 'y' ? 1 : 0)));
  EXPECT_EQ(m[2].str().back(), 's');
}

TEST(WordSwap, TextWithoutTheWordsIsUnchanged) {
  const auto& vocab = stories::Vocabulary::shared();
  const std::string story = "Tom ran to the park. He was happy.";
  EXPECT_EQ(align::swap_required_words(story, {"octopus", "fizzy"}, vocab, 1), story);
  EXPECT_EQ(align::swap_required_words("", {"octopus"}, vocab, 1), "");
}

TEST(WordSwap, UsesTheRequiredWordsWhereTheStoryHasWordsOfTheirKind) {
  const auto& vocab = stories::Vocabulary::shared();
  // A model's story without the required words: the octopus (an animal) takes the dog's
  // place everywhere, the ball (a toy) the kite's, "push" (takes an object) "kick"'s in
  // each form, "shiny" "red"'s; "hopped" stays (no verb without an object is required),
  // "named" is never taken, and "jump rope" has no toy left to replace.
  const std::string story =
      "Tom had a dog named Sam. The dog kicked a red kite and hopped. Dogs like kites. \"Kick it!\" said Tom.";
  const std::string out =
      align::use_required_words(story, {"octopus", "ball", "push", "shiny", "jump rope"}, vocab);
  EXPECT_EQ(out,
            "Tom had an octopus named Sam. The octopus pushed a shiny ball and hopped. Octopuses like balls. \"Push it!\" "
            "said Tom.");
  for (const std::string w : {"octopus", "ball", "push", "shiny"}) EXPECT_TRUE(stories::uses_required_word(out, w, vocab)) << w;
  // Words it uses already, and words with nothing of their kind to take, leave it as it is.
  EXPECT_EQ(align::use_required_words(story, {"dog", "kite"}, vocab), story);
  EXPECT_EQ(align::use_required_words("Tom ran home.", {"octopus"}, vocab), "Tom ran home.");
}

TEST(WordSwap, ANounOfAnotherKindOnlyAsAliveOrNot) {
  const auto& vocab = stories::Vocabulary::shared();
  // No food in the story: the cake takes the box's place (a thing), never the boy's.
  EXPECT_EQ(align::use_required_words("The boy saw that the box was stuck.", {"cake"}, vocab),
            "The boy saw that the cake was stuck.");
  // No person: the farmer takes the dog's place (an animal), not the box's.
  EXPECT_EQ(align::use_required_words("The box fell on a dog.", {"farmer"}, vocab), "The box fell on a farmer.");
  // A place only for a place: no cake in the house.
  EXPECT_EQ(align::use_required_words("Tom was in a house.", {"cake"}, vocab), "Tom was in a house.");
}
