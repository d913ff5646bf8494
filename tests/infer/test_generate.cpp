#include <gtest/gtest.h>

#include "slm/infer/generate.h"
#include "slm/infer/prompts.h"
#include "slm/util/error.h"
#include "test_util.h"
#include "tiny_model.h"

using namespace slm;

namespace {

// The tiny model with a context of 64.
struct Setup : test::TinyModel {
  Setup() : test::TinyModel(64) {}
};

const Setup& setup() {
  static Setup s;
  return s;
}

}  // namespace

TEST(Generate, GreedyIsDeterministicAndAFixedSeedRepeats) {
  const auto& s = setup();
  infer::GenerateOptions g;
  g.max_tokens = 20;
  g.stop_at_eot = false;
  g.sampling.temperature = 0;
  auto a = infer::generate(*s.m, *s.tok, "Once upon", g), b = infer::generate(*s.m, *s.tok, "Once upon", g);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.generated_tokens, 20);
  EXPECT_EQ(a.finish, "length");
  g.sampling.temperature = 1.0f;
  g.seed = 5;
  EXPECT_EQ(infer::generate(*s.m, *s.tok, "Once upon", g).text, infer::generate(*s.m, *s.tok, "Once upon", g).text);
}

TEST(Generate, ABatchDecodesLikeEachPromptAlone) {
  const auto& s = setup();
  infer::GenerateOptions g;
  g.max_tokens = 15;
  g.stop_at_eot = false;
  g.sampling.temperature = 0;
  std::vector<std::string> prompts = {"Once upon a time", "The dog", "", "liked to run. The"};
  auto together = infer::generate_batch(*s.m, *s.tok, prompts, g);
  ASSERT_EQ(together.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(together[i].text, infer::generate(*s.m, *s.tok, prompts[i], g).text) << "prompt " << i;
}

TEST(Generate, StopsBeforeAStopStringAndAtTheContext) {
  const auto& s = setup();
  infer::GenerateOptions g;
  g.max_tokens = 40;
  g.stop_at_eot = false;
  g.sampling.temperature = 0;
  auto full = infer::generate(*s.m, *s.tok, "Once", g);
  ASSERT_GE(full.text.size(), 6u);
  g.stop = {full.text.substr(3, 3)};  // a string the greedy text is known to hold
  std::string streamed;
  auto cut = infer::generate(*s.m, *s.tok, "Once", g, [&](const std::string& t) { streamed += t; });
  EXPECT_EQ(cut.finish, "stop");
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(g.stop[0])));
  EXPECT_EQ(streamed, cut.text) << "streaming never shows text past the stop string";
  g.stop.clear();
  g.max_tokens = 1000;
  auto ctx = infer::generate(*s.m, *s.tok, "Once", g);
  EXPECT_EQ(ctx.finish, "context");
  EXPECT_EQ(ctx.prompt_tokens + ctx.generated_tokens, 64 + 1);  // the last token fills no cache slot
  EXPECT_THROW(infer::generate(*s.m, *s.tok, std::string(400, 'x') + " y z", g), Error);
  g.context_shift = true;
  g.max_tokens = 150;
  auto shifted = infer::generate(*s.m, *s.tok, "Once", g);
  EXPECT_EQ(shifted.finish, "length");
  EXPECT_EQ(shifted.generated_tokens, 150);
  EXPECT_EQ(shifted.text.substr(0, ctx.text.size()), ctx.text) << "the same text up to the shift";
}

TEST(Prompts, AlpacaTemplateByteForByte) {
  EXPECT_EQ(infer::alpaca_prompt("Say hi."),
            "Below is an instruction that describes a task. Write a response that appropriately completes the "
            "request.\n\n### Instruction:\nSay hi.\n\n### Response:");
  EXPECT_EQ(infer::alpaca_prompt("Add.", "1 2"),
            "Below is an instruction that describes a task, paired with an input that provides further context. "
            "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n1 "
            "2\n\n### Response:");
}

TEST(Prompts, FewShotDrawsKExamplesThenTheQuery) {
  std::vector<infer::Shot> shots = {{"a", "A"}, {"b", "B"}, {"c", "C"}, {"d", "D"}};
  auto p = infer::few_shot_prompt(shots, 2, "e", 1, "Make it upper case.");
  EXPECT_EQ(p.rfind("Make it upper case.\n\n", 0), 0u);
  EXPECT_EQ(p.substr(p.size() - 18), "\n\nInput: e\nOutput:");
  size_t n = 0;
  for (size_t at = 0; (at = p.find("\nOutput: ", at)) != std::string::npos; ++at) ++n;
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(p, infer::few_shot_prompt(shots, 2, "e", 1, "Make it upper case.")) << "the seed fixes the draw";
  EXPECT_EQ(infer::few_shot_prompt(shots, 0, "e", 1), "Input: e\nOutput:");
  EXPECT_THROW(infer::few_shot_prompt(shots, 5, "e", 1), Error);
  test::TempDir dir;
  test::spit(dir / "s.jsonl", "{\"input\": \"x\", \"output\": \"y\"}\n{\"input\": 3}\n");
  try {
    infer::read_shots(dir / "s.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), dir / "s.jsonl:2");
  }
}
