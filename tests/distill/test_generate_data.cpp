// Sequence-level distillation: a teacher writes stories or answers, from an endpoint on
// 127.0.0.1 or a local model, into files that data import and finetune read.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "fake_teacher.h"
#include "slm/data/sft_records.h"
#include "slm/distill/generate_data.h"
#include "slm/train/pretrain.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "test_util.h"

using namespace slm;
using namespace slm::distill;
using nlohmann::json;

namespace {

std::vector<json> lines(const std::string& path) {
  std::vector<json> out;
  for_each_jsonl(path, [&](const json& j, const std::string&) { out.push_back(j); });
  return out;
}

GenerateDataOptions endpoint_options(const test::FakeTeacher& t, const std::string& out) {
  GenerateDataOptions o;
  o.endpoint = t.endpoint(2);
  o.quiet = true;
  o.out = out;
  return o;
}

}  // namespace

TEST(GenerateData, StoriesFromAnEndpointAskTinyStoriesPromptsAndUseTheCache) {
  test::FakeTeacher teacher;
  teacher.answer = [](const std::string& prompt, int) -> std::string {
    EXPECT_NE(prompt.find("3 year old"), std::string::npos) << prompt;
    return "  Once upon a time, a cat told this story.\n";
  };
  test::TempDir dir;
  auto o = endpoint_options(teacher, dir / "s.jsonl");
  o.count = 6;
  o.endpoint.cache_path = dir / "cache.jsonl";
  auto st = generate_data(o);
  EXPECT_EQ(st.written, 6);
  EXPECT_EQ(st.failed, 0);
  auto recs = lines(o.out);
  ASSERT_EQ(recs.size(), 6u);
  EXPECT_EQ(recs[0]["story"], "Once upon a time, a cat told this story.");
  EXPECT_EQ(recs[0]["instruction"]["words"].size(), 3u);
  EXPECT_EQ(recs[0]["source"], "teacher:big");
  EXPECT_NE(recs[0]["instruction"]["prompt"], recs[1]["instruction"]["prompt"]);
  // Sampled at the asked temperature, each prompt a distinct sample.
  EXPECT_EQ(teacher.bodies[0]["temperature"], 0.8);
  EXPECT_EQ(teacher.bodies[0]["max_tokens"], 400);
  // A rerun asks nothing: every reply is in the cache.
  const int asked = teacher.requests;
  auto again = generate_data(o);
  EXPECT_EQ(again.cached, 6);
  EXPECT_EQ(teacher.requests, asked);
}

TEST(GenerateData, AnswersInstructionsIntoAlpacaRecordsAndCountsFailures) {
  test::FakeTeacher teacher;
  teacher.answer = [](const std::string& prompt, int) -> std::string {
    if (prompt.find("never") != std::string::npos) throw 503;
    return "The answer to: " + prompt;
  };
  test::TempDir dir;
  test::spit(dir / "in.json", R"([{"instruction": "Name a red fruit.", "input": "", "output": "x"},
    {"instruction": "Summarize the story.", "input": "A cat sat on a mat."},
    {"instruction": "This one never works."}])");
  auto o = endpoint_options(teacher, dir / "sft.jsonl");
  o.instructions = dir / "in.json";
  o.count = 0;
  auto st = generate_data(o);
  EXPECT_EQ(st.written, 2);
  EXPECT_EQ(st.failed, 1);
  auto recs = lines(o.out);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0]["instruction"], "Name a red fruit.");
  EXPECT_EQ(recs[0]["output"], "The answer to: Name a red fruit.");
  EXPECT_EQ(recs[1]["input"], "A cat sat on a mat.");
  EXPECT_EQ(recs[1]["output"], "The answer to: Summarize the story.\n\nA cat sat on a mat.");
  // finetune reads them.
  EXPECT_EQ(data::read_sft_file(o.out).size(), 2u);
}

TEST(GenerateData, ALocalBaseModelContinuesStoryBeginnings) {
  test::TempDir dir;
  train::PretrainOptions p;
  p.model.dim = 32, p.model.n_layers = 2, p.model.n_heads = 4, p.model.n_kv_heads = 2, p.model.hidden_dim = 64;
  p.model.context = 64;
  p.train.batch_size = 4, p.train.max_steps = 20, p.train.warmup_steps = 2, p.train.lr = 3e-3;
  p.train.eval_every = 0, p.train.checkpoint_every = 0;
  p.data_dir = test::make_story_shards(dir, 200, 400);
  p.out_dir = dir / "teacher";
  p.quiet = true;
  auto teacher = train::pretrain(p).model_dir;
  GenerateDataOptions o;
  o.teacher = teacher;
  o.count = 5;
  o.batch = 2;
  o.max_tokens = 16;
  o.quiet = true;
  o.out = dir / "s.jsonl";
  auto st = generate_data(o);
  EXPECT_EQ(st.written + st.failed, 5);
  EXPECT_GT(st.written, 0);
  for (const auto& r : lines(o.out)) {
    const std::string prompt = r["instruction"]["prompt"], story = r["story"];
    EXPECT_EQ(story.rfind(prompt, 0), 0u) << "the story starts with its beginning: " << story;
    EXPECT_GT(story.size(), prompt.size());
  }
}

TEST(GenerateData, RefusesBadInstructionFilesNamingTheRecord) {
  test::TempDir dir;
  test::spit(dir / "bad.jsonl", "{\"instruction\": \"ok then\"}\n{\"input\": \"no instruction\"}\n");
  try {
    read_instruction_records(dir / "bad.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("bad.jsonl:2"), std::string::npos) << e.message();
  }
}
