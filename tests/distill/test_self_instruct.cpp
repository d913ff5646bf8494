// Self-instruct: the shipped seed tasks, the prompt, parsing and filtering a teacher's
// list, and the whole loop against a teacher endpoint on 127.0.0.1.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "fake_teacher.h"
#include "slm/distill/self_instruct.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/rouge.h"
#include "test_util.h"

using namespace slm;
using namespace slm::distill;

namespace {
const std::string kSeeds = std::string(SLM_FIXTURES) + "/../../../data/seed_tasks.jsonl";

// Word i of a list of distinct words, so that each request's tasks differ from every other's.
std::string word(int i) {
  static const std::vector<std::string> w = {
      "apple", "river", "moon",   "train",  "cookie", "garden", "rocket", "pillow", "castle", "button",
      "pebble", "candle", "forest", "bridge", "kitten", "puppy",  "banana", "wagon",  "rainbow", "cloud",
      "shell",  "tiger",  "lemon",  "ladder", "basket", "mitten", "puddle", "window", "carrot", "drum",
      "feather", "island", "jelly",  "kettle", "lantern", "meadow", "noodle", "orange", "parrot", "quilt",
      "robin",  "sock",   "teapot", "umbrella", "violin", "walrus", "yarn",  "zebra",  "acorn",  "barn",
      "crayon", "dolphin", "engine", "fence",  "goose",  "hammer", "igloo",  "jacket", "koala",  "lion"};
  return w[size_t(i) % w.size()];
}
}

TEST(SelfInstruct, ShippedSeedTasksAreAboutAHundredDistinctValidTasks) {
  auto seeds = read_seed_tasks(kSeeds);
  EXPECT_GE(seeds.size(), 100u);
  std::vector<std::string> ins;
  for (const auto& s : seeds) {
    EXPECT_EQ(self_instruct_filter(s), "") << s.instruction;
    ins.push_back(s.instruction);
  }
  auto keep = rouge_l_dedup(ins, 0.7);
  for (size_t i = 0; i < keep.size(); ++i) EXPECT_TRUE(keep[i]) << "near-duplicate seed: " << ins[i];
}

TEST(SelfInstruct, PromptNumbersTheExamplesAndAsksForTheNext) {
  std::vector<SelfInstructTask> ex = {{"Name a red fruit.", "", "An apple."}, {"Summarize:", "A cat sat.", "A cat sat."}};
  auto p = self_instruct_prompt(ex);
  EXPECT_NE(p.find("###\n1. Instruction: Name a red fruit.\n1. Input:\n<noinput>\n1. Output:\nAn apple.\n"),
            std::string::npos);
  EXPECT_NE(p.find("2. Instruction: Summarize\n2. Input:\nA cat sat.\n"), std::string::npos) << "trailing ':' dropped";
  EXPECT_EQ(p.substr(p.size() - 19), "###\n3. Instruction:");
}

TEST(SelfInstruct, ParsesNumberedBlocksAndCountsBrokenOnes) {
  // A completion goes on after "4. Instruction:"; then a block without an output.
  std::string reply =
      " Tell a story about a brave cat.\n4. Input:\n<noinput>\n4. Output:\nThe cat was brave.\n###\n"
      "5. Instruction: What color is the ball?\n5. Input:\nThe ball is red.\n5. Output:\nRed.\n###\n"
      "6. Instruction: Broken one\n6. Input:\nnothing\n###\n";
  int64_t invalid = 0;
  auto t = parse_self_instruct_reply(reply, 4, invalid);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].instruction, "Tell a story about a brave cat.");
  EXPECT_EQ(t[0].input, "");
  EXPECT_EQ(t[0].output, "The cat was brave.");
  EXPECT_EQ(t[1].input, "The ball is red.");
  EXPECT_EQ(invalid, 1);
  // A chat reply that starts the list itself parses the same.
  invalid = 0;
  auto c = parse_self_instruct_reply("4. Instruction: Say hi to the dog.\n4. Input:\n<noinput>\n4. Output:\nHi, dog!", 4,
                                     invalid);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].output, "Hi, dog!");
  EXPECT_EQ(invalid, 0);
}

TEST(SelfInstruct, FilterDropsWhatAlpacaDrops) {
  EXPECT_EQ(self_instruct_filter({"Say hi.", "", "Hi"}), "instruction too short");
  EXPECT_EQ(self_instruct_filter({"Draw a picture of a happy dog.", "", "ok"}), "banned word");
  EXPECT_EQ(self_instruct_filter({"Write a program that counts sheep.", "", "ok"}), "asks for a program");
  EXPECT_EQ(self_instruct_filter({"\"Why is the sky blue?\" Answer it.", "", "ok"}), "starts with punctuation");
  EXPECT_EQ(self_instruct_filter({"Name three farm animals please.", "", ""}), "invalid");
  EXPECT_EQ(self_instruct_filter({"Name three farm animals please.", "", "Cow, pig, hen."}), "");
}

TEST(SelfInstruct, KeepsGoingUntilNNewDistinctTasksAgainstARealEndpoint) {
  test::FakeTeacher teacher;
  // Each reply: two new tasks (numbered by the request), a near-copy of a seed task, a
  // banned one and a broken block; every third request fails with 503 once.
  teacher.answer = [](const std::string& prompt, int n) -> std::string {
    EXPECT_NE(prompt.find("List of 20 tasks:"), std::string::npos);
    if (n % 3 == 0) throw 503;
    auto w = [n](int i) { return word(7 * n + i); };
    return " Describe how " + w(0) + " helped " + w(1) + " find " + w(2) + " at " + w(3) +
           ".\n4. Input:\n<noinput>\n4. Output:\nIt was fun.\n###\n5. Instruction: Why would " + w(4) + " visit " +
           w(5) + " with " + w(6) + "?\n5. Input:\nIt was a sunny day.\n5. Output:\nTo play.\n###\n"
           "6. Instruction: Write a short story that has dialogue in it.\n6. Input:\n<noinput>\n6. Output:\nHi.\n###\n"
           "7. Instruction: Draw a map of the farm for me.\n7. Input:\n<noinput>\n7. Output:\nOk.\n###\n"
           "8. Instruction: Broken\n###";
  };
  test::TempDir dir;
  SelfInstructOptions o;
  o.endpoint = teacher.endpoint();
  o.endpoint.concurrency = 2;
  o.seed_tasks = kSeeds;
  o.count = 7;
  o.quiet = true;
  o.out = dir / "out.json";
  auto st = self_instruct(o);
  EXPECT_EQ(st.kept, 7);
  EXPECT_GT(st.dropped["similar (ROUGE-L)"], 0) << "the copy of a seed task";
  EXPECT_GT(st.dropped["banned word"], 0);
  EXPECT_GT(st.dropped["invalid"], 0);
  auto out = nlohmann::json::parse(read_file(o.out));
  ASSERT_EQ(out.size(), 7u);
  std::vector<std::string> ins;
  for (const auto& r : out) {
    EXPECT_FALSE(r["output"].get<std::string>().empty());
    EXPECT_TRUE(r.contains("input"));
    ins.push_back(r["instruction"]);
  }
  for (bool k : rouge_l_dedup(ins, 0.7)) EXPECT_TRUE(k) << "kept tasks are distinct";
  // Requests sample the examples into the prompt at Alpaca's temperature, each a distinct sample.
  std::lock_guard<std::mutex> g(teacher.mu);
  EXPECT_EQ(teacher.bodies[0]["model"], "big");
  EXPECT_EQ(teacher.bodies[0]["temperature"], 1.0);
  EXPECT_NE(teacher.bodies[0]["seed"], teacher.bodies[1]["seed"]);
}

TEST(SelfInstruct, ATeacherThatNeverAnswersWritesNothing) {
  test::FakeTeacher teacher;
  teacher.answer = [](const std::string&, int) -> std::string { throw 500; };
  test::TempDir dir;
  SelfInstructOptions o;
  o.endpoint = teacher.endpoint(2);
  o.seed_tasks = kSeeds;
  o.count = 3;
  o.max_rounds = 2;
  o.quiet = true;
  o.out = dir / "out.json";
  EXPECT_THROW(self_instruct(o), Error);
  EXPECT_FALSE(std::filesystem::exists(o.out));
}

TEST(SelfInstruct, BadSeedFileNamesTheLine) {
  test::TempDir dir;
  test::spit(dir / "seeds.jsonl", "{\"instruction\": \"Say hi to the cat.\", \"instances\": [{\"input\": \"\", \"output\": \"Hi\"}]}\n"
                                  "{\"instruction\": \"No instances here.\"}\n");
  try {
    read_seed_tasks(dir / "seeds.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("seeds.jsonl:2"), std::string::npos) << e.message();
  }
}
