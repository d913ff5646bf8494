#pragma once
// The GRPO tests' toy task (full-weight and LoRA): a random one-layer model over the story
// shards' tokenizer, four requests, and a reward for emitting one target token.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <fstream>

#include "slm/align/grpo.h"
#include "test_util.h"

namespace slm::test::grpo_toy {

using nlohmann::json;
using align::Completion;
using align::GrpoSettings;
using align::Reward;
using align::RewardFn;


inline const std::string& shard_dir() {
  static test::TempDir dir;
  static std::string path = test::make_story_shards(dir, 200, 300);
  return path;
}

inline const tokenizer::Tokenizer& tok() {
  static tokenizer::Tokenizer t = tokenizer::Tokenizer::load(shard_dir() + "/tokenizer.json");
  return t;
}

// One thread: the model is tiny, and OpenMP's barriers on a busy shared machine cost
// more than the work.
inline model::Transformer<float> random_model() {
  omp_set_num_threads(1);
  model::ModelConfig c;
  c.vocab_size = int(tok().vocab_size()), c.dim = 32, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1;
  c.hidden_dim = 64, c.context = 256;  // Alpaca's template is ~150 tokens with a 300-token vocabulary
  model::Transformer<float> m(c);
  m.init_weights(7);
  return m;
}

inline std::vector<stories::InstructRecord> requests() {
  std::vector<stories::InstructRecord> rs(4);
  const char* asks[] = {"Say it.", "Say the word.", "Tell me.", "Go on."};
  for (size_t i = 0; i < rs.size(); ++i) rs[i].instruction = asks[i], rs[i].task = "toy";
  return rs;
}

// The toy reward: the share of generated tokens that are the target token.
inline RewardFn target_reward(uint32_t target) {
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

inline train::LoopOptions loop(const test::TempDir& dir, const std::string& name, int64_t steps, double lr = 1e-2) {
  train::LoopOptions lo;
  lo.out_dir = dir / name;
  lo.train.batch_size = 2, lo.train.max_steps = steps, lo.train.lr = lr, lo.train.min_lr = lr;
  lo.train.warmup_steps = 2, lo.train.weight_decay = 0, lo.train.eval_every = 0, lo.train.checkpoint_every = 1000;
  lo.tokenizer_json = shard_dir() + "/tokenizer.json";
  lo.quiet = true;
  return lo;
}

inline std::vector<json> metrics(const std::string& run) {
  std::vector<json> rows;
  std::ifstream in(run + "/metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) rows.push_back(json::parse(line));
  return rows;
}

inline GrpoSettings toy_settings() {
  GrpoSettings s;
  s.group = 8, s.max_tokens = 4, s.temperature = 1.0f, s.beta = 0.01, s.sample_every = 0;
  return s;
}

}  // namespace slm::test::grpo_toy
