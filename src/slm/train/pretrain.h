#pragma once
// Pre-training: windows of token shards, next-token loss on every position, through
// the shared training loop (loop.h).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/config.h"
#include "slm/train/loop.h"
#include "slm/train/train_config.h"

namespace slm::train {

struct PretrainOptions {
  model::ModelConfig model;
  TrainConfig train;
  std::string data_dir;  // a folder from `slm data pack`: train_*.bin, val_*.bin, tokenizer.json
  std::string out_dir;   // the run folder
  std::string resume;    // a checkpoint folder or a run folder (its latest checkpoint), or empty
  int threads = 1;
  bool quiet = false;
  int64_t stop_after = -1;  // stop as if interrupted after this many steps (tests, time limits)
};

using PretrainResult = TrainResult;

PretrainResult pretrain(const PretrainOptions& opt);

}  // namespace slm::train
