#pragma once
// Every hyperparameter of a training run, in one place (configs/*.json "train" section);
// the command line overrides any field with --set train.FIELD=VALUE.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace slm::train {

struct TrainConfig {
  int batch_size = 8;          // sequences per micro-batch
  int grad_accum = 1;          // micro-batches per step
  int64_t max_steps = 1000;
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup_steps = 100;  // linear warm-up to lr, then the schedule's decay to min_lr at max_steps
  // "cosine": decay from the end of the warm-up to max_steps. "wsd" (warmup-stable-decay,
  // Hu et al. 2024, MiniCPM; Hägele et al. 2024): lr held until the last decay_fraction of
  // the steps, then down to min_lr as 1 - sqrt(progress). Until its decay a WSD run is the
  // same for every max_steps, so one run's checkpoint gives shorter budgets a cheap decay
  // (slm scaling sweep's "schedule": "wsd"; a longer run resumed from before the decay).
  std::string schedule = "cosine";
  double decay_fraction = 0.2;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double grad_clip = 1.0;      // clip the global gradient norm to this (0: off)
  bool decay_embeddings = false;
  // Train the embedding row of each token " w" as its own row plus the row of "w" (the
  // same bytes without the space), so the two spellings of a word learn together
  // (space_sharing.h). Full-weight training only: LoRA leaves the embedding frozen.
  bool share_space_embeddings = false;
  int64_t eval_every = 100, eval_batches = 20;
  int64_t checkpoint_every = 200;
  int keep_checkpoints = 2;
  int64_t log_every = 1;
  uint64_t seed = 1;
  // The linear layers' products: "bf16" (bf16 operands, fp32 sums; the weights, gradients
  // and AdamW moments stay fp32), "fp32", or "auto": bf16 where the CPU has it.
  std::string dtype = "auto";
  // Data parallel (mpirun -np N): batch_size and grad_accum are per rank, so a step sees
  // N x grad_accum x batch_size sequences. zero = 1 shards AdamW's moments over the ranks
  // (ZeRO-1). deterministic sums the gradients in one fixed order (rank after rank,
  // micro-batch after micro-batch), so N ranks reproduce one rank's run bit for bit.
  // dist_timeout: seconds a rank waits for the others before the run stops with an error.
  // overlap_comm: each layer's gradient all-reduce starts as soon as the backward pass has
  // finished the layer (false: one all-reduce after the whole backward; for comparison).
  int zero = 0;
  bool deterministic = false;
  bool overlap_comm = true;
  double dist_timeout = 300;

  void validate(const std::string& origin) const;
  // Unknown fields (with the nearest valid name) and wrong types are errors naming
  // "train.FIELD"; ranges are validate()'s.
  static TrainConfig from_json(const nlohmann::json& j, const std::string& origin);
  static std::vector<std::string> field_names();
  nlohmann::json to_json() const;
};

// The learning rate at a step: linear warm-up to lr, then the schedule's decay to min_lr.
double learning_rate(const TrainConfig& c, int64_t step);

// The first step of a WSD run's decay: max_steps less decay_fraction of it (at least one
// step), never inside the warm-up. Cosine runs decay from the end of the warm-up.
int64_t decay_start(const TrainConfig& c);

}  // namespace slm::train
