#pragma once
// Training checkpoints: a Hugging Face model folder (config.json, model.safetensors,
// tokenizer.json) plus the training state beside it (optimizer.safetensors with AdamW's
// moments, trainer_state.json with the step, the data position and the configs).
// Written to a temporary folder and renamed into place: a checkpoint is whole or absent.
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/train/adamw.h"
#include "slm/train/adapters.h"
#include "slm/train/train_config.h"

namespace slm::train {

struct TrainerState {
  int64_t step = 0;       // optimizer steps done
  int world = 1;          // ranks of the run that wrote it (data parallel)
  nlohmann::json data;    // where the batch source is (pre-training: {"epoch", "position"})
  double last_val_loss = -1;
};

// Saves into dir (replaced if present). tokenizer_json: a file to copy in, or empty;
// add_files, if set, writes more files into the folder before it is renamed into place.
// With adapters, the checkpoint holds them (and their moments) instead of the model.
void save_checkpoint(const std::string& dir, const model::Transformer<float>& m, AdamW& opt,
                     const TrainConfig& tc, const TrainerState& st, const std::string& tokenizer_json,
                     const std::string& data_dir, const std::function<void(const std::string&)>& add_files = nullptr,
                     const Adapters* adapters = nullptr);

// Restores weights, moments and state from a checkpoint folder written by save_checkpoint.
// Throws slm::Error naming the file and field when it does not fit the model.
TrainerState load_checkpoint(const std::string& dir, model::Transformer<float>& m, AdamW& opt,
                             Adapters* adapters = nullptr);

// A checkpoint folder itself, or a run folder's latest checkpoint.
std::string resolve_checkpoint(const std::string& path);

// Resuming on another number of ranks: keeps the step's sequences (ranks x grad_accum x
// batch_size) those of the checkpoint by changing tc.grad_accum, or says why it cannot.
// Nothing to do without a resume or at the same world size.
void keep_global_batch(TrainConfig& tc, const std::string& resume, int world, bool quiet);

// The checkpoint folders under run_dir/checkpoints, oldest first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

}  // namespace slm::train
