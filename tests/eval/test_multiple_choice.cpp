#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "slm/eval/multiple_choice.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::eval;

TEST(MultipleChoice, ReadsOurFormatAndHellaSwag) {
  test::TempDir dir;
  test::spit(dir / "t.jsonl",
             R"({"context": "The sky is", "choices": [" blue", " loud"], "label": 0})" "\n"
             R"({"ind": 4, "ctx_a": "A man is", "ctx_b": "sitting on a roof.", "ctx": "A man is sitting on a roof. he", "endings": ["is using wrap.", "starts pulling up roofing.", "is ripping level tiles.", "is holding a rubik's cube."], "label": "3", "split": "val"})" "\n");
  auto items = read_mc_file(dir / "t.jsonl");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].choices[1], " loud");
  EXPECT_EQ(items[1].context, "A man is sitting on a roof. he");
  EXPECT_EQ(items[1].choices[3], " is holding a rubik's cube.") << "HellaSwag endings follow a space";
  EXPECT_EQ(items[1].label, 3) << "HellaSwag's label is a string";
}

TEST(MultipleChoice, ALabelOutsideTheChoicesNamesTheLine) {
  test::TempDir dir;
  test::spit(dir / "bad.jsonl", R"({"context": "x", "choices": ["a", "b"], "label": 0})" "\n"
                                R"({"context": "x", "choices": ["a", "b"], "label": 2})" "\n");
  try {
    read_mc_file(dir / "bad.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("bad.jsonl:2"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("outside"), std::string::npos) << e.message();
  }
}

TEST(MultipleChoice, BuiltInTasksFromTheStoryWorld) {
  auto items = builtin_mc_tasks(20, 5);
  std::map<std::string, int> n;
  for (const auto& it : items) {
    ++n[it.task];
    ASSERT_GE(it.choices.size(), 2u);
    ASSERT_LT(size_t(it.label), it.choices.size());
    EXPECT_LT(it.context.size(), 1200u) << "short enough for K shots in the context";
    std::set<std::string> distinct(it.choices.begin(), it.choices.end());
    EXPECT_EQ(distinct.size(), it.choices.size());
  }
  EXPECT_EQ(n.size(), 4u);
  for (const char* t : {"which_object", "which_character", "which_feeling", "which_ending"}) EXPECT_EQ(n[t], 20) << t;
}

TEST(MultipleChoice, PaddedBatchGivesEachChoiceItsOwnLogProb) {
  // A random model: the batched, padded pass must equal one unpadded pass per choice.
  test::TempDir dir;
  auto tok = tokenizer::Tokenizer::load(test::make_story_shards(dir, 50, 300) + "/tokenizer.json");
  model::ModelConfig c;
  c.dim = 32, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 64, c.context = 64;
  c.vocab_size = int(tok.vocab_size());
  model::Transformer<float> m(c);
  m.init_weights(9);
  std::vector<std::string> choices = {" dog", " very big red ball", " cat"};
  auto lp = choice_logprobs(m, tok, "Once upon a time there was a", choices);
  for (size_t i = 0; i < choices.size(); ++i) {
    auto ctx = tok.encode("Once upon a time there was a");
    auto ch = tok.encode(choices[i], false);
    std::vector<int32_t> x(ctx.begin(), ctx.end());
    for (size_t k = 0; k + 1 < ch.size(); ++k) x.push_back(int32_t(ch[k]));
    m.forward(x.data(), 1, int(x.size()));
    double want = 0;
    for (size_t k = 0; k < ch.size(); ++k) {
      const float* z = m.logits() + (ctx.size() - 1 + k) * size_t(c.vocab_size);
      double mx = *std::max_element(z, z + c.vocab_size), sum = 0;
      for (int j = 0; j < c.vocab_size; ++j) sum += std::exp(double(z[j]) - mx);
      want += z[ch[k]] - mx - std::log(sum);
    }
    EXPECT_NEAR(lp[i], want, 1e-4) << choices[i];
  }
}
