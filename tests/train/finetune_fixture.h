#pragma once
// What the fine-tuning tests (full and LoRA) start from: story shards, a base model
// pre-trained on them for a few steps, short Alpaca records, and small-run options.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "slm/model/model_files.h"
#include "slm/train/pretrain.h"
#include "slm/train/sft.h"
#include "test_util.h"

namespace slm::test {

inline const std::string& shard_dir() {
  static TempDir dir;
  static std::string path = make_story_shards(dir, 300, 400);
  return path;
}

// A base model, pre-trained for a few steps: what fine-tuning starts from.
inline const std::string& base_model() {
  static TempDir dir;
  static std::string path = [] {
    train::PretrainOptions o;
    o.model.dim = 32, o.model.n_layers = 2, o.model.n_heads = 4, o.model.n_kv_heads = 2, o.model.hidden_dim = 64;
    o.model.context = 160;
    o.train.batch_size = 4, o.train.max_steps = 20, o.train.warmup_steps = 2, o.train.eval_every = 0;
    o.data_dir = shard_dir();
    o.out_dir = dir / "pre";
    o.quiet = true;
    return train::pretrain(o).model_dir;
  }();
  return path;
}

// The fixture's base with its final norm's weights at 20 rather than about 1. After 20
// steps of pre-training the tied head's rows are still small, so with the final norm
// fixing the hidden state's scale the logits cannot be peaked whatever the blocks do, and
// LoRA (which leaves the head and norms frozen) could not lower the loss much. Full
// fine-tuning grows the embeddings; here the scale is given.
inline const std::string& lora_base() {
  static TempDir dir;
  static std::string path = [] {
    auto m = model::load_model(base_model());
    const int fn = m->layout().final_norm;
    for (int64_t i = 0; i < m->layout().tensors[size_t(fn)].size; ++i) m->param(fn)[i] *= 20.f;
    std::filesystem::create_directories(dir / "base");
    model::save_model_files(dir / "base", *m);
    std::filesystem::copy_file(base_model() + "/tokenizer.json", dir / "base/tokenizer.json");
    return dir / "base";
  }();
  return path;
}

// Short Alpaca records: "Say the name." with a name as input, the name as output.
inline std::string write_records(const TempDir& dir, int n) {
  const char* names[] = {"Tom", "Lily", "Ben", "Mia", "Sam", "Zoe", "Max", "Amy"};
  std::string text;
  for (int i = 0; i < n; ++i) {
    std::string name = names[i % 8];
    text += R"({"instruction": "Repeat the name.", "input": ")" + name + R"(", "output": ")" + name + "\"}\n";
  }
  std::string path = dir / "records.jsonl";
  spit(path, text);
  return path;
}

inline train::FinetuneOptions finetune_options(const TempDir& dir, const std::string& out, int64_t steps) {
  train::FinetuneOptions o;
  o.base = base_model();
  o.data = write_records(dir, 64);
  o.out_dir = dir / out;
  o.train.batch_size = 4;
  o.train.max_steps = steps;
  o.train.warmup_steps = 2;
  o.train.lr = 3e-3;
  o.train.weight_decay = 0;
  o.train.eval_every = 5;
  o.train.checkpoint_every = 4;
  o.threads = 2;
  o.quiet = true;
  return o;
}

// Fine-tunes 10 steps straight into DIR/a and 5 + 5 (stopped, then resumed) into DIR/b
// with the options options(out) gives, and expects the same loss at every step; the
// caller then compares what the two runs wrote.
inline void expect_resume_bit_identical(const TempDir& dir,
                                        const std::function<train::FinetuneOptions(const std::string&)>& options) {
  auto straight = train::finetune(options("a"));
  auto first = options("b");
  first.stop_after = 5;
  auto half = train::finetune(first);
  ASSERT_TRUE(half.interrupted);
  auto second = options("b");
  second.resume = dir / "b";
  auto rest = train::finetune(second);
  std::vector<double> joined = half.losses;
  joined.insert(joined.end(), rest.losses.begin(), rest.losses.end());
  ASSERT_EQ(joined.size(), straight.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], straight.losses[i]) << "step " << i + 1;
}

}  // namespace slm::test
