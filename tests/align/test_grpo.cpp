// GRPO end to end on a toy task small enough for a unit test: a random model must learn
// to emit a target token (1 in 300 at first) within 80 steps; the first step's KL to the reference is exactly zero;
// a run stopped mid-way (even between two updates on one batch) resumes bit-identically.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "slm/align/grpo.h"
#include "test_util.h"

using namespace slm;
using namespace slm::align;
using nlohmann::json;

namespace {

const std::string& shard_dir() {
  static test::TempDir dir;
  static std::string path = test::make_story_shards(dir, 200, 300);
  return path;
}

const tokenizer::Tokenizer& tok() {
  static tokenizer::Tokenizer t = tokenizer::Tokenizer::load(shard_dir() + "/tokenizer.json");
  return t;
}

// One thread: the model is tiny, and OpenMP's barriers on a busy shared machine cost
// more than the work.
model::Transformer<float> random_model() {
  omp_set_num_threads(1);
  model::ModelConfig c;
  c.vocab_size = int(tok().vocab_size()), c.dim = 32, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1;
  c.hidden_dim = 64, c.context = 256;  // Alpaca's template is ~150 tokens with a 300-token vocabulary
  model::Transformer<float> m(c);
  m.init_weights(7);
  return m;
}

std::vector<stories::InstructRecord> requests() {
  std::vector<stories::InstructRecord> rs(4);
  const char* asks[] = {"Say it.", "Say the word.", "Tell me.", "Go on."};
  for (size_t i = 0; i < rs.size(); ++i) rs[i].instruction = asks[i], rs[i].task = "toy";
  return rs;
}

// The toy reward: the share of generated tokens that are the target token.
RewardFn target_reward(uint32_t target) {
  return [target](const std::vector<Completion>& cs) {
    std::vector<Reward> out;
    for (const auto& c : cs) {
      Reward r;
      double hits = double(std::count(c.tokens.begin(), c.tokens.end(), target));
      r.total = r.rules["target"] = c.tokens.empty() ? 0.0 : hits / double(c.tokens.size());
      out.push_back(r);
    }
    return out;
  };
}

train::LoopOptions loop(const test::TempDir& dir, const std::string& name, int64_t steps, double lr = 1e-2) {
  train::LoopOptions lo;
  lo.out_dir = dir / name;
  lo.train.batch_size = 2, lo.train.max_steps = steps, lo.train.lr = lr, lo.train.min_lr = lr;
  lo.train.warmup_steps = 2, lo.train.weight_decay = 0, lo.train.eval_every = 0, lo.train.checkpoint_every = 1000;
  lo.tokenizer_json = shard_dir() + "/tokenizer.json";
  lo.quiet = true;
  return lo;
}

std::vector<json> metrics(const std::string& run) {
  std::vector<json> rows;
  std::ifstream in(run + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

GrpoSettings toy_settings() {
  GrpoSettings s;
  s.group = 8, s.max_tokens = 4, s.temperature = 1.0f, s.beta = 0.01, s.sample_every = 0;
  return s;
}

}  // namespace

TEST(Grpo, LearnsToEmitATargetTokenAndStartsWithZeroKl) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  auto policy = random_model(), ref = random_model();
  auto lo = loop(dir, "toy", 80, 2e-2);
  auto recs = requests();
  auto res = grpo_train(policy, ref, tok(), recs, target_reward(target), toy_settings(), lo);
  ASSERT_FALSE(res.model_dir.empty());
  auto rows = metrics(lo.out_dir);
  ASSERT_EQ(rows.size(), 80u);
  // Step 1: the policy is the reference, so the KL is exactly zero.
  EXPECT_EQ(rows[0]["kl"].get<double>(), 0.0);
  EXPECT_GT(rows[40]["kl"].get<double>(), 0.0);
  double first = 0, last = 0;
  std::string curve;
  for (const auto& r : rows) curve += fmt::format(" {:.2f}", r["reward"].get<double>());
  for (int i = 0; i < 10; ++i) first += rows[size_t(i)]["reward"].get<double>() / 10;
  for (size_t i = rows.size() - 10; i < rows.size(); ++i) last += rows[i]["reward"].get<double>() / 10;
  EXPECT_LT(first, 0.1);
  EXPECT_GT(last, 0.5) << "the reward by step:" << curve;
  EXPECT_TRUE(std::filesystem::exists(lo.out_dir + "/reward.svg"));
}

TEST(Grpo, ResumeIsBitIdenticalEvenBetweenUpdatesOnOneBatch) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  GrpoSettings s = toy_settings();
  s.updates_per_batch = 2;  // step 3 of 6 stops half-way through a batch's two updates
  auto recs = requests();
  auto ref = random_model();

  auto straight = random_model();
  grpo_train(straight, ref, tok(), recs, target_reward(target), s, loop(dir, "straight", 6));

  auto first = random_model();
  auto lo = loop(dir, "resumed", 6);
  lo.stop_after = 3;
  auto stopped = grpo_train(first, ref, tok(), recs, target_reward(target), s, lo);
  ASSERT_TRUE(stopped.interrupted);
  auto second = random_model();
  second.init_weights(99);  // whatever it holds is replaced by the checkpoint
  lo.stop_after = -1;
  lo.resume = lo.out_dir;
  auto done = grpo_train(second, ref, tok(), recs, target_reward(target), s, lo);
  ASSERT_FALSE(done.model_dir.empty());
  ASSERT_EQ(std::memcmp(straight.params(), second.params(), size_t(straight.num_params()) * sizeof(float)), 0);
  auto a = metrics(dir / "straight"), b = metrics(lo.out_dir);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["reward"], b[i]["reward"]) << "step " << i + 1;
}
