#pragma once
// The pre-training mix of InstructGPT's PPO-ptx (Ouyang et al. 2022): reinforcement
// learning moves the model only where its rewards look (the requests), and the rest of
// what it learned in pre-training can drift away unseen (the "alignment tax": after
// word-credit GRPO the plain stories misspell six times as often, docs/alignment.md).
// Each micro-batch of the RL objective also trains on a batch of pre-training windows,
//   loss = RL loss + coef x (mean next-token loss of the windows),
// which pulls the model back toward the text it was pre-trained on wherever the reward
// does not pay for something else.
//
// With loss "kl" the windows' target is not the text but a teacher's distribution on it
// (by default the frozen reference, the model RL started from), as Learning without
// Forgetting does (Li & Hoiem 2016):
//   loss = RL loss + coef x mean over the windows' tokens of KL(p_teacher || p_model),
// so the model keeps what it already did on plain text (its stories, its spelling) rather
// than being pulled back to the pre-training text itself, which the fine-tuned model had
// moved away from on purpose (its templated answers). It is 0, with no gradient, until the
// model drifts (an MoE model's router losses aside, added as in the next-token loss).
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "slm/align/run.h"
#include "slm/data/shard.h"
#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/pretrain.h"

namespace slm::align {

struct PretrainMixSettings {
  std::string data;   // a folder of `slm data pack` (train_*.bin); empty: no mix
  double coef = 1;    // the weight of its loss (InstructGPT's gamma)
  int batch = 4;      // windows a micro-batch
  int context = 0;    // a window's tokens (0: the model's context)
  std::string loss = "next-token";  // or "kl": the teacher's distribution on the windows
  std::string teacher;              // with "kl": a model folder (empty: the reference)
};

class PretrainMix {
 public:
  // Opens the train shards of s.data. Throws slm::Error naming the folder when it has no
  // shards, holds a token past the model's vocabulary, or was packed with a tokenizer
  // other than the model's (its tokenizer.json is compared when it has one); with loss
  // "kl" and a teacher folder, loads it and checks its tokenizer and vocabulary the same way.
  PretrainMix(const PretrainMixSettings& s, const model::ModelConfig& mc, const tokenizer::Tokenizer& model_tok,
              int grad_accum, uint64_t seed);
  ~PretrainMix();

  // The next micro-batch's windows: drawn with the RL batch (next()), so that the
  // sampler's place is saved between steps as the loop expects.
  void draw(train::Batch& into);
  // ADDS coef x share x the gradient of the windows' mean loss (next-token, or KL to the
  // teacher) into the trained weights (share: the RL micro-batch's part of the step);
  // returns that mean loss. reference: the teacher of loss "kl" when no folder was named.
  double forward_backward(model::Transformer<float>& m, const train::Batch& windows, double share,
                          const Reference& reference);
  bool kl() const { return s_.loss == "kl"; }

  nlohmann::json state() const;
  void restore(const nlohmann::json& s);

 private:
  void load_teacher(const model::ModelConfig& mc, const tokenizer::Tokenizer& model_tok);
  PretrainMixSettings s_;
  std::unique_ptr<data::OpenShards> shards_;
  std::unique_ptr<train::ShardBatches> batches_;
  model::LoadedModel teacher_;       // loss "kl" with a teacher folder
  std::vector<float> teacher_logits_;  // the teacher's logits of the windows [B*T, V]
};

}  // namespace slm::align
