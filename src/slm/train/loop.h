#pragma once
// The training loop that every objective shares (pre-training, instruction tuning):
// batches from a source, forward and backward with gradient accumulation, clipping,
// AdamW, validation, checkpoints, exact resume, Ctrl-C that saves, the progress bar,
// metrics.jsonl and the loss curve. An objective supplies the batches, the validation
// and the model it starts from.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/transformer.h"
#include "slm/train/adapters.h"
#include "slm/train/train_config.h"

namespace slm::train {

// One micro-batch: inputs and targets [B, T] (targets -1 are not trained on).
struct Batch {
  std::vector<int32_t> x, y;
  std::vector<float> w;  // a weight a target, or empty: all 1
  int B = 0, T = 0;
  int64_t counted = 0;   // targets that count (not -1)
  double weight = 0;     // the sum of their weights (= counted when w is empty)
  std::vector<int64_t> row_ids;  // the source's id of each row, when an objective looks more up by row
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void next(Batch& b) = 0;
  // Where the source is, for checkpoints; restore() continues from there exactly.
  virtual nlohmann::json state() const = 0;
  virtual void restore(const nlohmann::json& s) = 0;
  // Figures of the step just served, merged into its metrics.jsonl row (an objective that
  // is not next-token loss, e.g. GRPO: rewards, KL, lengths). A "loss" here replaces the
  // weighted cross-entropy in the row, the curve and the progress line; "note" (a string)
  // is added to the progress line and not logged.
  virtual nlohmann::json step_metrics() { return nlohmann::json::object(); }
};

struct LoopOptions {
  TrainConfig train;
  std::string out_dir;         // the run folder
  std::string resume;          // a checkpoint folder or a run folder (its latest checkpoint), or empty
  std::string tokenizer_json;  // copied into every checkpoint and the final model
  std::string data_desc;       // recorded in checkpoints and run.json
  std::string label = "train"; // the progress bar's name
  nlohmann::json run_info;     // more fields for run.json
  bool quiet = false;
  int64_t stop_after = -1;     // stop as if interrupted after this many steps (tests, time limits)
  bool stop_quietly = false;   // a planned stop_after: no "stopped ..., resume with" line (a signal still says it)
  // The validation loss of the model as it is now, or empty for none.
  std::function<double(model::Transformer<float>&)> validate;
  // More fields for the metrics row of a step that validated (DPO's held-out accuracy),
  // called just after validate.
  std::function<nlohmann::json()> val_metrics;
  // One micro-batch's forward and backward for an objective whose loss is not next-token
  // cross-entropy (distillation): adds gradients scaled by grad_scale, returns the mean
  // loss. Empty: the model's forward_backward.
  std::function<double(model::Transformer<float>&, const Batch&, double grad_scale)> forward_backward;
  // Writes more files into each checkpoint and the final model folder (e.g. the prompt template).
  std::function<void(const std::string& dir)> add_files;
  // Train these instead of the model's weights (LoRA: the model is frozen, see lora.h);
  // checkpoints and the final folder then hold the adapters. Null: train the model.
  Adapters* adapters = nullptr;
};

struct TrainResult {
  int64_t start_step = 0, steps = 0;  // steps = the step reached
  std::vector<double> losses;          // train loss of each step run here
  double val_loss = -1;
  bool interrupted = false;
  std::string model_dir;  // the final model folder (out_dir/model), when the run completed
  std::string checkpoint; // the last checkpoint written
};

// Peak FLOP/s of this machine for the MFU figure: the best of a few 1024³ sgemms.
double measure_peak_flops();

// Trains m (initialised by the caller, or restored here from opt.resume).
TrainResult run_training(model::Transformer<float>& m, BatchSource& data, const LoopOptions& opt);

}  // namespace slm::train
