#pragma once
// Pre-training: windows of token shards, next-token loss on every position, through
// the shared training loop (loop.h).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/data/sampler.h"
#include "slm/data/shard.h"
#include "slm/model/config.h"
#include "slm/train/loop.h"
#include "slm/train/train_config.h"

namespace slm::train {

// Random windows of the train shards, every target counted: pre-training's batches.
class ShardBatches : public BatchSource {
 public:
  ShardBatches(const data::OpenShards& shards, const data::SamplerOptions& so);  // throws if too short
  void next(Batch& b) override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& s) override;
  const data::BatchSampler& sampler() const { return sampler_; }

 private:
  data::BatchSampler sampler_;
  data::SamplerOptions so_;
};

// The mean next-token loss over the first `batches` batches of B x T windows of the
// shards, in order (the validation loss of pre-training).
double shard_loss(model::Transformer<float>& m, const data::OpenShards& shards, int B, int T, int64_t batches);

struct PretrainOptions {
  model::ModelConfig model;
  TrainConfig train;
  std::string data_dir;  // a folder from `slm data pack`: train_*.bin, val_*.bin, tokenizer.json
  std::string out_dir;   // the run folder
  std::string resume;    // a checkpoint folder or a run folder (its latest checkpoint), or empty
  // A model folder to start from instead of random weights (e.g. one from slm moe upcycle).
  // Its config is the run's, unless model_given: then the two must make tensors of the same
  // names and shapes (fields that shape no tensor, such as the context or the aux-loss
  // weights, are taken from the given config).
  std::string init;
  bool model_given = true;
  int threads = 1;
  bool quiet = false;
  int64_t stop_after = -1;  // stop as if interrupted after this many steps (tests, time limits)
  bool stop_quietly = false;  // that stop is planned (the scaling sweep's WSD trunk): no "stopped ..." line
};

using PretrainResult = TrainResult;

PretrainResult pretrain(const PretrainOptions& opt);

}  // namespace slm::train
