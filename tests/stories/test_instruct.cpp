#include <gtest/gtest.h>

#include <map>
#include <set>

#include "slm/stories/instruct.h"
#include "slm/data/sft_records.h"
#include "slm/stories/story_checks.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/error.h"
#include "slm/util/rouge.h"
#include "test_util.h"

using namespace slm;
using namespace slm::stories;
using namespace slm::data;
using namespace slm::tokenizer;

namespace {

const InstructSet& set() {
  static StoryGenerator gen;
  static InstructSet s = [] {
    InstructOptions o;
    o.stories = 1500;
    o.seed = 3;
    o.heldout_fraction = 0.1;
    return make_instruct_set(gen, o);
  }();
  return s;
}

}  // namespace

TEST(Instruct, IsDeterministicForASeed) {
  StoryGenerator gen;
  InstructOptions o;
  o.stories = 50;
  auto a = make_instruct_set(gen, o), b = make_instruct_set(gen, o);
  ASSERT_EQ(a.train.size(), b.train.size());
  for (size_t i = 0; i < a.train.size(); ++i) EXPECT_EQ(instruct_jsonl(a.train[i]), instruct_jsonl(b.train[i]));
  o.seed = 2;
  auto c = make_instruct_set(gen, o);
  EXPECT_NE(instruct_jsonl(a.train[0]), instruct_jsonl(c.train[0]));
}

TEST(Instruct, HasEveryTaskTypeWithSeveralPhrasings) {
  std::map<std::string, std::set<std::string>> phrasings;
  for (const auto& r : set().train) {
    // The phrasing: the instruction with the story's own words (names, places) left out.
    std::string p;
    for (auto& w : rouge_tokens(r.instruction))
      if (!contains_word(r.output + " " + r.input, w) || w.size() <= 3) p += w + " ";
    phrasings[r.task].insert(p);
  }
  EXPECT_GE(phrasings.size(), 8u);
  for (const auto& t : instruct_tasks()) {
    ASSERT_TRUE(phrasings.count(t.name)) << t.name << " never made";
    if (std::string(t.name) != "kind") {
      EXPECT_GE(phrasings[t.name].size(), 2u) << t.name;
    }
  }
}

TEST(Instruct, NoStoryIsSharedBetweenTrainAndHeldOut) {
  std::set<uint64_t> train;
  std::set<std::string> train_inputs;
  for (const auto& r : set().train) train.insert(r.story), train_inputs.insert(r.input);
  ASSERT_GT(set().heldout.size(), 100u);
  for (const auto& r : set().heldout) {
    EXPECT_FALSE(train.count(r.story)) << r.story;
    if (!r.input.empty()) {
      EXPECT_FALSE(train_inputs.count(r.input));
    }
  }
}

TEST(Instruct, NoTwoKeptInstructionsWithTheSameInputAreNearDuplicates) {
  std::map<std::string, std::vector<std::vector<std::string>>> groups;
  for (const auto* part : {&set().train, &set().heldout})
    for (const auto& r : *part) groups[r.input].push_back(rouge_tokens(r.instruction));
  for (const auto& [input, ins] : groups) {
    const size_t n = std::min<size_t>(ins.size(), 300);  // the writing group is large: a sample
    for (size_t i = 0; i < n; ++i)
      for (size_t j = i + 1; j < n; ++j) ASSERT_LE(rouge_l(ins[i], ins[j]), 0.7);
  }
  EXPECT_GT(set().dropped_similar, 0) << "the filter ran and found some";
}

TEST(Instruct, AnswersAreRightByConstruction) {
  const Vocabulary vocab = Vocabulary::builtin();
  for (const auto& r : set().train) {
    if (r.task == "write_words" || r.task == "write_features") {
      ASSERT_EQ(r.words.size(), 3u);
      for (const auto& w : r.words) {
        EXPECT_TRUE(uses_required_word(r.output, w, vocab)) << w << "\n" << r.output;
        EXPECT_NE(r.instruction.find(w), std::string::npos) << "the instruction names " << w;
      }
      for (const auto& f : r.features) EXPECT_TRUE(shows_feature(r.output, *feature_from_name(f))) << f << "\n" << r.output;
    } else if (r.task == "yes_no" && (r.instruction.rfind("Is there a ", 0) == 0 || r.instruction.rfind("Is there an ", 0) == 0)) {
      std::string thing = r.instruction.substr(r.instruction.find(' ', 9) + 1);
      thing = thing.substr(0, thing.find(" in this story"));
      EXPECT_EQ(contains_word(r.input, thing), r.answer == "yes") << r.instruction << "\n" << r.input;
    } else if (!r.answer.empty() && r.task != "yes_no") {
      EXPECT_TRUE(contains_word(r.input, r.answer)) << r.task << ": " << r.answer;
      EXPECT_TRUE(contains_word(r.output, r.answer));
    } else if (r.task == "continue") {
      EXPECT_FALSE(r.input.empty());
      EXPECT_FALSE(r.output.empty());
    } else if (r.task == "happy_ending") {
      // The markers the story tests hold a happy ending to (shows_feature's are looser).
      for (const char* sad : {"cried", "never found", "lost forever", "gone forever"})
        EXPECT_EQ(r.output.find(sad), std::string::npos) << r.output;
    }
  }
}

TEST(Instruct, JsonLinesRoundTripAndBadRecordsAreNamed) {
  const auto& r = set().train.front();
  auto back = instruct_from_json_line(instruct_jsonl(r), "x:1");
  EXPECT_EQ(instruct_jsonl(back), instruct_jsonl(r));
  try {
    instruct_from_json_line(R"({"instruction": "Say hi."})", "f.jsonl:7");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("f.jsonl:7"), std::string::npos);
    EXPECT_NE(e.message().find("output"), std::string::npos);
  }
}

TEST(SftRecords, ReadsAlpacaArraysJsonlAndChats) {
  test::TempDir dir;
  test::spit(dir / "a.json", R"([{"instruction": "Add.", "input": "1 2", "output": "3"},
                                {"instruction": "Say hi.", "input": "", "output": "Hi!"}])");
  auto a = read_sft_file(dir / "a.json");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].segments[0].text, alpaca_prompt("Add.", "1 2"));
  EXPECT_FALSE(a[0].segments[0].response);
  EXPECT_EQ(a[0].segments[1].text, "3");
  EXPECT_TRUE(a[0].segments[1].response);
  EXPECT_EQ(a[1].segments[0].text, alpaca_prompt("Say hi."));
  EXPECT_EQ(a[1].where, dir / "a.json" + "[1]");
  EXPECT_TRUE(a[0].words.empty());
  test::spit(dir / "w.jsonl", R"({"instruction": "Use ball.", "output": "A ball.", "words": ["ball", "red"]})" "\n");
  EXPECT_EQ(read_sft_file(dir / "w.jsonl")[0].words, (std::vector<std::string>{"ball", "red"}));

  test::spit(dir / "c.jsonl",
             R"({"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"},)"
             R"( {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"},)"
             R"( {"role": "assistant", "content": "Bye!"}]})"
             "\n");
  auto c = read_sft_file(dir / "c.jsonl");
  ASSERT_EQ(c.size(), 1u);
  ASSERT_EQ(c[0].segments.size(), 4u);
  EXPECT_EQ(c[0].segments[0].text, alpaca_prompt("Be kind.\n\nHi"));
  EXPECT_EQ(c[0].segments[1].text, "Hello!");
  EXPECT_EQ(c[0].segments[2].text, "\n\n" + alpaca_prompt("Bye"));
  EXPECT_EQ(c[0].segments[3].text, "Bye!");
  // The same text chat_prompt builds for slm chat, so training and use agree.
  EXPECT_EQ(c[0].segments[0].text + c[0].segments[1].text + c[0].segments[2].text,
            chat_prompt({{"Be kind.\n\nHi", "Hello!"}}, "Bye"));
}

TEST(SftRecords, BadRecordsAreNamed) {
  test::TempDir dir;
  auto expect_error = [&](const std::string& name, const std::string& content, const std::string& where,
                          const std::string& what) {
    test::spit(dir / name, content);
    try {
      read_sft_file(dir / name);
      FAIL() << name;
    } catch (const Error& e) {
      EXPECT_NE(e.message().find(where), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(what), std::string::npos) << e.message();
    }
  };
  expect_error("m.jsonl", "{\"instruction\": \"x\", \"output\": \"y\"}\n{\"instruction\": \"x\"}\n", "m.jsonl:2", "output");
  expect_error("n.json", R"([{"output": "y"}])", "n.json[0]", "instruction");
  expect_error("w.jsonl", "{\"instruction\": \"x\", \"output\": \"y\", \"words\": [\"a\", 3]}\n", "w.jsonl:1", "'words'");
  expect_error("u.jsonl", R"({"messages": [{"role": "user", "content": "Hi"}]})", "u.jsonl:1", "no assistant reply");
  expect_error("o.jsonl", R"({"messages": [{"role": "assistant", "content": "Hi"}]})", "u", "should be a 'user' turn");
  expect_error("b.jsonl", "{not json\n", "b.jsonl:1", "malformed JSON");
  expect_error("e.jsonl", "\n", "e.jsonl", "no records");
  expect_error("x.txt", "hello", "x.txt", "unknown format");
}
