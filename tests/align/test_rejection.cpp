// slm align rft keeps a sampled completion only when it passes every check
// (rejection.h): the required rules at full marks, its own end, the reward floor and no
// flawed word. Checked on the generator's own writing requests, whose stories pass, and
// on the ways a completion can fall short of them.
#include <gtest/gtest.h>

#include "instruct_records.h"

#include "slm/align/flaws.h"
#include "slm/align/rejection.h"
#include "slm/stories/instruct.h"

using namespace slm;
using namespace slm::align;

namespace {

const stories::InstructSet& records() { return test::instruct_records(60, 5); }

const RewardModel& rewards() {
  static RewardModel m{RewardConfig{}};
  return m;
}

const FlawFinder& finder() {
  static FlawFinder f;
  return f;
}

std::vector<std::string> failures(const RejectionOptions& opt, const stories::InstructRecord& r, const std::string& text,
                                  bool ended = true) {
  const auto asked = finder().request_words(r.instruction + "\n" + r.input);
  return rejection_failures(opt, rewards().score(r, text, ended), ended, text, opt.no_flaws ? &finder() : nullptr, asked);
}

// The first writing request of the set whose story uses its words.
const stories::InstructRecord& writing_request() {
  for (const auto& r : records().train)
    if (r.task == "write_words" && !r.words.empty()) return r;
  throw std::runtime_error("no write_words record");
}

}  // namespace

TEST(Rejection, TheGeneratorsOwnStoriesPass) {
  RejectionOptions opt;  // words and eot at full marks, no flaws
  int writing = 0;
  for (const auto& r : records().train) {
    if (r.task != "write_words" && r.task != "write_features") continue;
    ++writing;
    EXPECT_EQ(failures(opt, r, r.output), std::vector<std::string>{}) << r.instruction << "\n" << r.output;
  }
  EXPECT_GT(writing, 20);
}

TEST(Rejection, EachShortfallIsNamed) {
  const auto& r = writing_request();
  RejectionOptions opt;
  // Cut off by the token limit: it did not end by itself.
  EXPECT_EQ(failures(opt, r, r.output, false), std::vector<std::string>{"eot"});
  // A made-up noun in an otherwise good story.
  EXPECT_EQ(failures(opt, r, r.output + " The end was a graagle."), std::vector<std::string>{"flaws"});
  // ... which --allow-flaws keeps.
  RejectionOptions lax = opt;
  lax.no_flaws = false;
  EXPECT_EQ(failures(lax, r, r.output + " The end was a graagle."), std::vector<std::string>{});
  // A story without the required words.
  const std::string other = "Once upon a time, a little cat sat in the sun. She was happy and warm. Then she went home "
                            "to her mom, and they ate soup together. The cat smiled. The end.";
  auto f = failures(opt, r, other);
  EXPECT_NE(std::find(f.begin(), f.end(), "words"), f.end());
  // Nothing at all.
  f = failures(opt, r, "  \n");
  EXPECT_EQ(f.front(), "blank");
  // A reward floor above what the story scores.
  RejectionOptions high = opt;
  high.min_reward = 1.0;
  high.require = {};
  const double total = rewards().score(r, other, true).total;
  ASSERT_LT(total, 1.0);
  EXPECT_EQ(failures(high, r, other), std::vector<std::string>{"min_reward"});
}

TEST(Rejection, ARuleThatDoesNotApplyIsNoCheck) {
  // A question has no required words: requiring the words rule checks nothing there.
  for (const auto& r : records().train) {
    if (r.task != "main_character") continue;
    RejectionOptions opt;
    opt.require = {"words", "answer", "eot"};
    EXPECT_EQ(failures(opt, r, r.output), std::vector<std::string>{}) << r.output;
    EXPECT_EQ(failures(opt, r, "I do not know."), std::vector<std::string>{"answer"});
    return;
  }
  FAIL() << "no main_character record";
}

TEST(Rejection, BadOptionsAreRefusedBeforeAnyModelLoads) {
  RejectionOptions opt;
  opt.model = "/nonexistent", opt.prompts = "/nonexistent.jsonl", opt.out = "/tmp/never.jsonl";
  opt.require = {"wrods"};
  try {
    rejection_sample(opt);
    FAIL() << "an unknown rule was accepted";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("words"), std::string::npos) << e.what();  // the nearest rule
  }
  opt.require = {"words"};
  opt.keep = 9;  // more than the group of 8
  EXPECT_THROW(rejection_sample(opt), std::exception);
}
