#pragma once
// The pre-training mix of InstructGPT's PPO-ptx (Ouyang et al. 2022): reinforcement
// learning moves the model only where its rewards look (the requests), and the rest of
// what it learned in pre-training can drift away unseen (the "alignment tax": after
// word-credit GRPO the plain stories misspell six times as often, docs/alignment.md).
// Each micro-batch of the RL objective also trains on a batch of pre-training windows,
//   loss = RL loss + coef x (mean next-token loss of the windows),
// which pulls the model back toward the text it was pre-trained on wherever the reward
// does not pay for something else.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

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
};

class PretrainMix {
 public:
  // Opens the train shards of s.data. Throws slm::Error naming the folder when it has no
  // shards, holds a token past the model's vocabulary, or was packed with a tokenizer
  // other than the model's (its tokenizer.json is compared when it has one).
  PretrainMix(const PretrainMixSettings& s, const model::ModelConfig& mc, const tokenizer::Tokenizer& model_tok,
              int grad_accum, uint64_t seed);
  ~PretrainMix();

  // The next micro-batch's windows: drawn with the RL batch (next()), so that the
  // sampler's place is saved between steps as the loop expects.
  void draw(train::Batch& into);
  // ADDS coef x share x the gradient of the windows' mean next-token loss into the trained
  // weights (share: the RL micro-batch's part of the step); returns that mean loss.
  double forward_backward(model::Transformer<float>& m, const train::Batch& windows, double share) const;

  nlohmann::json state() const;
  void restore(const nlohmann::json& s);

 private:
  PretrainMixSettings s_;
  std::unique_ptr<data::OpenShards> shards_;
  std::unique_ptr<train::ShardBatches> batches_;
};

}  // namespace slm::align
