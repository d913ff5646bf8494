// LoRA in alignment: short GRPO and DPO runs that train adapters only (the base stays
// bit-identical, and is the reference: no second copy), raise the reward / the margin on
// a toy set, save a PEFT adapter folder that slm lora merge folds in, and resume after a
// checkpoint exactly as a run that was never stopped.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "align/grpo_toy.h"
#include "slm/align/dpo.h"
#include "slm/align/grpo.h"
#include "slm/model/model_files.h"
#include "slm/model/safetensors.h"
#include "slm/train/lora.h"
#include "slm/util/atomic_file.h"
#include "test_util.h"
#include "train/finetune_fixture.h"

using namespace slm;
using namespace slm::align;
using namespace slm::test::grpo_toy;
namespace fs = std::filesystem;

namespace {

train::LoraConfig lora_config(const char* targets, double dropout) {
  train::LoraConfig c;
  c.rank = 4, c.alpha = 8, c.dropout = dropout;
  c.targets = train::parse_lora_targets(targets, "test");
  return c;
}

bool same_floats(const float* a, const float* b, int64_t n) { return std::memcmp(a, b, size_t(n) * sizeof(float)) == 0; }

// The toy model with its final norm's weights at 10: its tied head's rows are small, and
// with the final norm fixing the hidden state's scale, adapters (which leave the head and
// the norms frozen) could not peak the logits otherwise (as test::lora_base()).
model::Transformer<float> lora_toy_model() {
  auto m = random_model();
  const int fn = m.layout().final_norm;
  for (int64_t i = 0; i < m.layout().tensors[size_t(fn)].size; ++i) m.param(fn)[i] *= 10.f;
  return m;
}

// The toy model as a model folder, for slm lora merge.
std::string save_toy_base(const test::TempDir& dir) {
  auto m = lora_toy_model();
  const std::string path = dir / "base";
  fs::create_directories(path);
  model::save_model_files(path, m);
  fs::copy_file(shard_dir() + "/tokenizer.json", path + "/tokenizer.json");
  return path;
}

double mean_of(const std::vector<json>& rows, const char* key, size_t from, size_t to) {
  double s = 0;
  for (size_t i = from; i < to; ++i) s += rows[i][key].get<double>();
  return s / double(to - from);
}

}  // namespace

TEST(AlignLora, GrpoTrainsTheAdaptersOnlyAndTheirMergeIsThePolicy) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  auto policy = lora_toy_model();
  train::LoraTrainable lora(policy, lora_config("all", 0.05), 1);
  auto lo = loop(dir, "toy", 80, 1e-1);
  lo.adapters = &lora;
  auto recs = requests();
  // Groups of 32: the sharpened toy model starts by emitting the target about once in 200
  // tokens, and a group without a single hit has no advantage to learn from; with groups
  // of 8 whether the first hits came at all depended on float rounding (an ASan build's
  // samples had none in 80 steps).
  auto settings = toy_settings();
  settings.group = 32;
  auto res = grpo_train(policy, Reference(policy, lora.lora()), tok(), recs, target_reward(target), settings, lo);
  ASSERT_FALSE(res.model_dir.empty());
  auto rows = metrics(lo.out_dir);
  ASSERT_EQ(rows.size(), 80u);
  std::string curve;
  for (const auto& r : rows) curve += fmt::format(" {:.2f}", r["reward"].get<double>());
  EXPECT_LT(mean_of(rows, "reward", 0, 2), 0.1) << "the target starts rare";
  EXPECT_GT(mean_of(rows, "reward", 70, 80), 0.4) << "the reward by step:" << curve;
  EXPECT_GT(rows[40]["kl"].get<double>(), 0.0) << "the reference is the base without the adapters";

  // The base is untouched: with the adapters taken out, every weight is the start's, bit for bit.
  const auto base = lora_toy_model();
  lora.lora().unmerge();
  EXPECT_TRUE(same_floats(policy.params(), base.params(), base.num_params()));
  lora.lora().merge();
  EXPECT_FALSE(same_floats(policy.params(), base.params(), base.num_params())) << "the adapters were trained";

  // model/ is a PEFT adapter folder, and slm lora merge folds it into the base: the policy.
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"})
    EXPECT_TRUE(fs::exists(res.model_dir + "/" + f)) << f;
  EXPECT_FALSE(fs::exists(res.model_dir + "/model.safetensors"));
  EXPECT_EQ(json::parse(test::slurp(res.model_dir + "/adapter_config.json"))["lora_dropout"], 0.05);
  const std::string base_dir = save_toy_base(dir);
  train::merge_lora(base_dir, res.model_dir, dir / "merged");
  auto merged = model::load_model(dir / "merged");
  EXPECT_TRUE(same_floats(merged->params(), policy.params(), policy.num_params()));
}

TEST(AlignLora, GrpoResumeIsBitIdentical) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  GrpoSettings s = toy_settings();
  s.updates_per_batch = 2;  // stops half-way through a batch's two updates
  auto recs = requests();
  auto run = [&](const std::string& name, int64_t stop_after, bool resume) {
    auto policy = lora_toy_model();
    train::LoraTrainable lora(policy, lora_config("q,v,up", 0.1), 1);
    auto lo = loop(dir, name, 6);
    lo.adapters = &lora, lo.stop_after = stop_after;
    if (resume) lo.resume = lo.out_dir;
    return grpo_train(policy, Reference(policy, lora.lora()), tok(), recs, target_reward(target), s, lo);
  };
  ASSERT_FALSE(run("straight", -1, false).model_dir.empty());
  ASSERT_TRUE(run("resumed", 3, false).interrupted);
  ASSERT_FALSE(run("resumed", -1, true).model_dir.empty());
  EXPECT_EQ(test::slurp(dir / "straight/model/adapter_model.safetensors"),
            test::slurp(dir / "resumed/model/adapter_model.safetensors"));
  auto a = metrics(dir / "straight"), b = metrics(dir / "resumed");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["reward"], b[i]["reward"]) << "step " << i + 1;
    EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << "step " << i + 1;
  }
}

namespace {

// Toy preferences on the LoRA tests' base: the name asked for over a refusal.
std::string write_preferences(const test::TempDir& dir) {
  const char* names[] = {"Tom", "Lily", "Ben", "Mia", "Sam", "Zoe", "Max", "Amy"};
  std::string text;
  for (int i = 0; i < 16; ++i) {
    const json j = {{"prompt", "Repeat the name."}, {"input", names[i % 8]}, {"chosen", names[i % 8]},
                    {"rejected", "No."}};
    text += j.dump() + "\n";
  }
  const std::string path = dir / "prefs.jsonl";
  test::spit(path, text);
  return path;
}

DpoOptions dpo_options(const test::TempDir& dir, const std::string& out, int64_t steps, double dropout) {
  DpoOptions o;
  o.data = write_preferences(dir);
  o.beta = 0.5;
  o.run.base = test::lora_base();
  o.run.out_dir = dir / out;
  o.run.train.batch_size = 4, o.run.train.max_steps = steps, o.run.train.warmup_steps = 2;
  o.run.train.lr = 1e-2, o.run.train.weight_decay = 0, o.run.train.eval_every = 0, o.run.train.checkpoint_every = 5;
  o.run.eval_stories = 0;
  o.run.threads = 1, o.run.quiet = true;
  o.run.lora = lora_config("q,v", dropout);
  return o;
}

}  // namespace

TEST(AlignLora, DpoRaisesTheMarginWithAdaptersAndMergesIntoTheBase) {
  test::TempDir dir;
  auto res = dpo(dpo_options(dir, "dpo", 30, 0.1));
  ASSERT_FALSE(res.train.model_dir.empty());
  auto rows = metrics(dir / "dpo");
  ASSERT_EQ(rows.size(), 30u);
  std::string curve;
  for (const auto& r : rows) curve += fmt::format(" {:.2f}", r["margin"].get<double>());
  EXPECT_LT(std::abs(mean_of(rows, "margin", 0, 3)), 0.5) << curve;
  EXPECT_GT(mean_of(rows, "margin", 25, 30), 2.0) << "the margin by step:" << curve;
  EXPECT_GT(mean_of(rows, "accuracy", 25, 30), 0.9) << curve;
  // run.json: the reference took no memory of its own.
  json run = json::parse(test::slurp(dir / "dpo/run.json"));
  EXPECT_EQ(run["memory_bytes"]["reference"], 0);
  EXPECT_EQ(run["lora"]["lora_dropout"], 0.1);
  // Only adapters were saved; merged, the untargeted weights are the base's bit for bit
  // and the targeted ones moved.
  auto tensors = model::read_safetensors(res.train.model_dir + "/adapter_model.safetensors");
  for (const auto& [name, t] : tensors) EXPECT_NE(name.find(".lora_"), std::string::npos) << name;
  const int n = train::merge_lora(test::lora_base(), res.train.model_dir, dir / "merged");
  auto base = model::load_model(test::lora_base());
  auto merged = model::load_model(dir / "merged");
  EXPECT_EQ(n, 2 * base->config().n_layers);
  const auto& L = base->layout();
  for (size_t i = 0; i < L.tensors.size(); ++i) {
    const bool targeted = L.tensors[i].name.find("q_proj") != std::string::npos ||
                          L.tensors[i].name.find("v_proj") != std::string::npos;
    EXPECT_EQ(same_floats(base->param(int(i)), merged->param(int(i)), L.tensors[i].size), !targeted) << L.tensors[i].name;
  }
}

TEST(AlignLora, DpoResumeIsBitIdentical) {
  test::TempDir dir;
  ASSERT_FALSE(dpo(dpo_options(dir, "straight", 10, 0.1)).train.model_dir.empty());
  auto first = dpo_options(dir, "resumed", 10, 0.1);
  first.run.stop_after = 5;
  ASSERT_TRUE(dpo(first).train.interrupted);
  auto second = dpo_options(dir, "resumed", 10, 0.1);
  second.run.resume = dir / "resumed";
  ASSERT_FALSE(dpo(second).train.model_dir.empty());
  EXPECT_EQ(test::slurp(dir / "straight/model/adapter_model.safetensors"),
            test::slurp(dir / "resumed/model/adapter_model.safetensors"));
  auto a = metrics(dir / "straight"), b = metrics(dir / "resumed");
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["loss"], b[i]["loss"]) << "step " << i + 1;
}

// The LoRA reference is the base alone even in the middle of a training step: adapters
// that are not zero, dropout on (as the loop sets it around a micro-batch's forward and
// backward), and its logits (GRPO's --ptx-loss kl teacher) and log-probabilities still
// equal a separate copy of the base's bit for bit; the adapters' state is restored after.
TEST(AlignLora, ReferenceIsTheBaseEvenWithDropoutOn) {
  auto base = lora_toy_model(), policy = lora_toy_model();
  train::LoraTrainable lora(policy, lora_config("all", 0.3), 1);
  for (int64_t i = 0; i < lora.size(); ++i) lora.params()[i] = 0.05f * float((i * 7919) % 13 - 6);
  lora.update_model();  // W = W0 + s·B·A: the policy is not the base now
  lora.set_training(true, 42);
  const std::vector<int32_t> x = {5, 9, 17, 33, 2, 8, 64, 12}, y = {9, 17, 33, 2, 8, 64, 12, 3};
  std::vector<float> got;
  Reference(policy, lora.lora()).logits(x.data(), 2, 4, policy.precision(), got);
  base.forward(x.data(), 2, 4);
  ASSERT_EQ(got.size(), size_t(8) * size_t(base.config().vocab_size));
  EXPECT_TRUE(same_floats(got.data(), base.logits(), int64_t(got.size())));
  std::vector<double> lp_ref, lp_base;
  Reference(policy, lora.lora()).logprobs(x.data(), y.data(), 2, 4, policy.precision(), lp_ref);
  Reference(base).logprobs(x.data(), y.data(), 2, 4, base.precision(), lp_base);
  EXPECT_EQ(lp_ref, lp_base);
  EXPECT_TRUE(lora.lora().training());
  EXPECT_EQ(lora.lora().key(), 42u);
  policy.forward(x.data(), 2, 4);  // merged again: the policy's own logits differ
  EXPECT_FALSE(same_floats(policy.logits(), base.logits(), int64_t(got.size())));
}
