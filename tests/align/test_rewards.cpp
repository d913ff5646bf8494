// The rule rewards on the story world's own records: a real story (the generator's
// answer) scores near the top, and outputs that game a rule (the required words with no
// story, padded by repeating themselves; a whole story as the answer to a question) cannot.
#include <gtest/gtest.h>

#include "instruct_records.h"

#include "slm/align/rewards.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::align;

namespace {

const stories::InstructSet& records() { return test::instruct_records(120, 11); }

std::vector<const stories::InstructRecord*> of_task(const std::string& task) {
  std::vector<const stories::InstructRecord*> out;
  for (const auto& r : records().train)
    if (r.task == task) out.push_back(&r);
  return out;
}

std::string join(const std::vector<std::string>& w, const std::string& sep) {
  std::string s;
  for (const auto& x : w) s += (s.empty() ? "" : sep) + x;
  return s;
}

const RewardModel& rewards() {
  static RewardModel m{RewardConfig{}};
  return m;
}

}  // namespace

TEST(Rewards, TheGeneratorsOwnStoriesScoreNearTheTop) {
  auto writes = of_task("write_features");
  ASSERT_GE(writes.size(), 10u);
  double sum = 0;
  for (const auto* r : writes) {
    Reward rw = rewards().score(*r, r->output, true);
    EXPECT_EQ(rw.rules.at("words"), 1.0) << r->output;
    EXPECT_EQ(rw.rules.at("features"), 1.0) << r->output;
    sum += rw.total;
  }
  EXPECT_GT(sum / double(writes.size()), 0.9);
  // Cut off before the end-of-text token: a little less.
  EXPECT_LT(rewards().score(*writes[0], writes[0]->output, false).total,
            rewards().score(*writes[0], writes[0]->output, true).total);
}

TEST(Rewards, AListOfTheRequiredWordsCannotMaxOutTheReward) {
  for (const auto* r : of_task("write_words")) {
    const double real = rewards().score(*r, r->output, true).total;
    // The words alone; in one sentence; and padded to a story's length by repetition.
    const std::string bare = join(r->words, ", ") + ".";
    const std::string one = "The story has " + join(r->words, " and ") + ".";
    std::string padded;
    for (int i = 0; i < 20; ++i) padded += "The story has " + join(r->words, " and ") + ". ";
    for (const std::string& degenerate : {bare, one, padded}) {
      Reward d = rewards().score(*r, degenerate, true);
      EXPECT_LT(d.total, 0.35) << degenerate;
      EXPECT_LT(d.total, real - 0.5) << degenerate;
    }
    EXPECT_EQ(rewards().score(*r, bare, true).rules.at("words"), 0.0) << "a bare list is not using the words";
    EXPECT_EQ(rewards().score(*r, padded, true).rules.at("words"), 1.0) << "the words are in sentences";
  }
}

TEST(Rewards, QuestionsWantTheAnswerNotTheWholeStory) {
  auto who = of_task("main_character");
  ASSERT_FALSE(who.empty());
  const auto& r = *who[0];
  Reward exact = rewards().score(r, r.answer + ".", true);
  EXPECT_EQ(exact.rules.at("answer"), 1.0);
  EXPECT_GT(exact.total, 0.9);
  Reward sentence = rewards().score(r, "It is about " + r.answer + ".", true);
  EXPECT_EQ(sentence.rules.at("answer"), 0.7);
  Reward wrong = rewards().score(r, "Nobody.", true);
  EXPECT_EQ(wrong.rules.at("answer"), 0.0);
  EXPECT_LT(wrong.total, 0.5);
  // The story contains the answer, but it is no answer: the length gate.
  const std::string story = r.input.empty() ? records().train[0].output : r.input;
  Reward whole = rewards().score(r, story + " " + r.answer, true);
  EXPECT_LT(whole.total, 0.3);
}

TEST(Rewards, ConfigNamesTheFieldAtFault) {
  auto err = [](const std::string& text) {
    try {
      RewardConfig::from_json(nlohmann::json::parse(text), "rewards.json");
    } catch (const Error& e) {
      return e.message();
    }
    return std::string("no error");
  };
  EXPECT_EQ(err(R"({"weights": {"wrods": 1}})"),
            "unknown reward rule 'wrods'; did you mean 'words'? (rewards.json: weights)");
  EXPECT_EQ(err(R"({"weights": {"words": -1}})"), "expected a weight >= 0 (rewards.json: weights.words)");
  EXPECT_EQ(err(R"({"gates": ["length", "lenght"]})"),
            "unknown reward rule 'lenght'; did you mean 'length'? (rewards.json: gates)");
  EXPECT_EQ(err(R"({"story_words": [300, 50]})"),
            "expected [min, max] words with 0 <= min <= max, max >= 1 (rewards.json: story_words)");
  EXPECT_EQ(err(R"({"weigths": {}})"), "unknown field 'weigths'; did you mean 'weights'? (rewards.json)");
  EXPECT_EQ(err(R"({"weights": {"judge": 1}})"),
            "the judge rule has a weight but no judge {\"url\", \"model\"} (rewards.json: weights.judge)");
  // A config with weights changed scores accordingly: only the answer counts.
  RewardConfig c = RewardConfig::from_json(
      nlohmann::json::parse(R"({"weights": {"words": 0, "features": 0, "answer": 1, "length": 0, "repetition": 0,
                                            "child_vocab": 0, "grammar": 0, "eot": 0}, "gates": []})"),
      "x");
  RewardModel only_answer(c);
  const auto& r = *of_task("main_character")[0];
  EXPECT_EQ(only_answer.score(r, "the " + r.answer + " said nothing at all for a long long time", false).total, 0.7);
}

// Where the words rule counts a use is where GRPO's --word-credit credits the tokens: the
// first use of each word in a sentence with two other words, in any inflection, at its
// byte offset in the whole text (a bare list before it does not count).
TEST(Rewards, RequiredWordUsesAreTheFirstCountedOnes) {
  const auto& vocab = stories::Vocabulary::shared();
  const std::string text = "Ball, jump. Tom jumped over the ball. The ball was red. Mia did not sing.";
  auto uses = required_word_uses(text, {"jump", "ball", "sing", "happy"}, vocab);
  ASSERT_EQ(uses.size(), 4u);
  ASSERT_TRUE(uses[0].used);
  EXPECT_EQ(text.substr(uses[0].begin, uses[0].end - uses[0].begin), "jumped");
  ASSERT_TRUE(uses[1].used);
  EXPECT_EQ(uses[1].begin, text.find("ball."));  // in the second sentence, not the list's "Ball"
  EXPECT_EQ(uses[1].end - uses[1].begin, 4u);
  ASSERT_TRUE(uses[2].used);
  EXPECT_EQ(text.substr(uses[2].begin, uses[2].end - uses[2].begin), "sing");
  EXPECT_FALSE(uses[3].used);
  // The rule's score is the share of them.
  stories::InstructRecord r;
  r.task = "write_words", r.words = {"jump", "ball", "sing", "happy"};
  EXPECT_DOUBLE_EQ(rewards().score(r, text, true).rules.at("words"), 0.75);
}
