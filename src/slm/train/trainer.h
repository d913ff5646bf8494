#pragma once
// Pre-training: the loop that reads token windows, runs forward and backward, and
// steps AdamW, with validation, checkpoints, exact resume, and Ctrl-C that saves.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/config.h"
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

struct PretrainResult {
  int64_t start_step = 0, steps = 0;  // steps = the step reached
  std::vector<double> losses;          // train loss of each step run here
  double val_loss = -1;
  bool interrupted = false;
  std::string model_dir;  // the final model folder (out_dir/model), when the run completed
  std::string checkpoint; // the last checkpoint written
};

// Peak FLOP/s of this machine for the MFU figure: the best of a few 1024³ sgemms.
double measure_peak_flops();

// Gradients are complete here, before the optimizer step: the one place where a
// multi-process all-reduce (MPI, NCCL) slots in. Single process: nothing to do.
void allreduce_gradients(float* grads, int64_t n);

PretrainResult pretrain(const PretrainOptions& opt);

}  // namespace slm::train
