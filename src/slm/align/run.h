#pragma once
// What every alignment run shares, whatever its objective: the base model (which starts
// the policy and, frozen, is the reference), the run folder and the training loop's
// options, and the before/after evaluation when the run completes. With LoRA the policy
// is the base with adapters (train/lora.h) and the reference is the same weights with the
// adapters taken out: no second copy of the model.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/model_files.h"
#include "slm/train/lora.h"
#include "slm/train/loop.h"

namespace slm::align {

struct AlignRun {
  std::string base;         // a model folder with tokenizer.json
  std::string out_dir, resume;
  train::TrainConfig train;
  // Before/after: held-out `slm data instruct` records and story prompts, on the base and
  // the tuned model, into out_dir/eval (no records and no stories: skipped).
  std::string eval;
  int eval_limit = 200, eval_stories = 16;
  int threads = 1;
  bool quiet = false;
  int64_t stop_after = -1;
  // rank > 0: train LoRA adapters with the base frozen; model/ is then a PEFT adapter folder.
  train::LoraConfig lora = train::LoraConfig::none();
};

struct AlignResult {
  train::TrainResult train;
  std::string comparison;  // the before/after tables, when evaluated
};

// Indices 0..n-1 in a shuffled order, a new shuffle each epoch (seeded): the order the
// requests or pairs are visited in, resumable exactly from its state.
class EpochOrder {
 public:
  EpochOrder(size_t n, uint64_t seed);
  size_t next();
  nlohmann::json state() const;  // {"epoch", "position"}
  void restore(const nlohmann::json& s);

 private:
  void plan();
  size_t n_;
  uint64_t seed_, epoch_ = 0, position_ = 0;
  std::vector<size_t> order_;
};

// The frozen reference's log-probabilities: a model of its own, or (LoRA) the policy's
// model with its adapters unmerged for the call (W = W0: the base exactly), then merged back.
class Reference {
 public:
  Reference(model::Transformer<float>& separate) : model_(&separate) {}  // NOLINT: a model is a reference
  Reference(model::Transformer<float>& policy, train::LoraAdapters<float>& lora) : model_(&policy), lora_(&lora) {}
  // token_logprobs (policy_loss.h) under the reference, at `precision` (the policy's).
  void logprobs(const int32_t* inputs, const int32_t* targets, int B, int Tn, tensor::Precision precision,
                std::vector<double>& out) const;
  // The reference's logits of every position of inputs [B, Tn], copied into out [B*Tn, vocab]
  // (the LoRA reference shares the policy's buffers, which the policy's next forward overwrites).
  void logits(const int32_t* inputs, int B, int Tn, tensor::Precision precision, std::vector<float>& out) const;
  const model::ModelConfig& config() const { return model_->config(); }

 private:
  model::Transformer<float>* model_;
  train::LoraAdapters<float>* lora_ = nullptr;
};

struct AlignModels {
  model::LoadedModel policy;                         // trained
  std::unique_ptr<model::Transformer<float>> reference;  // frozen; null with LoRA
  std::unique_ptr<train::LoraTrainable> lora;            // the adapters, with LoRA
  std::string tokenizer_json;
  Reference ref() { return lora ? Reference(*policy.model, lora->lora()) : Reference(*reference); }
};
// Sets the threads and loads the base twice (with LoRA once, the adapters attached and
// the memory a second copy would have taken said). Throws slm::Error when it is not a
// model folder with a tokenizer.
AlignModels load_align_models(const AlignRun& run);

// The loop's options for a run: checkpoints carry the tokenizer and the Alpaca template;
// with LoRA the loop trains the adapters, and run.json records them and the memory.
train::LoopOptions align_loop_options(const AlignRun& run, const AlignModels& models, const std::string& data,
                                      const std::string& label, nlohmann::json run_info);

// The before/after evaluation of a completed run (nothing when interrupted or not asked).
void evaluate_run(const AlignRun& run, AlignResult& res);

}  // namespace slm::align
