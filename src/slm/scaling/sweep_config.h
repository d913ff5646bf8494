#pragma once
// sweep.json: the grid of a scaling sweep. Every key is checked: an unknown one is an error
// naming it (with the nearest valid name), a wrong type or range names the key.
//   {"model":   {...}            fields every size shares (context, n_kv_heads, ...), as configs/*.json
//    "sizes":   [{"name": "d32l1", "dim": 32, "n_layers": 1, ...}, ...]   each a model section + a name
//    "tokens":  [250000, 500000]  token budgets, every size trains at each; or
//    "flops":   [3e12, 1e13]      IsoFLOP budgets: each size trains D = C / (6 N) tokens
//    "train":   {...}            the train section (max_steps and warmup_steps are set per run)
//    "lrs":     [0.0015, 0.003, 0.006]   optional: every size trains at each peak learning rate
//                                 (min_lr scaled with it); the fit takes the best at each N and D
//    "warmup_fraction": 0.05,    "min_steps": 20,
//    "holdout": {"size": {...}, "tokens": 2000000}   the larger model trained after the fit
//    "eval":    {"val_batches", "items", "ks", "builtin_tasks", "pairs", "induction_windows",
//               "induction_length"}}
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/config.h"
#include "slm/train/train_config.h"

namespace slm::scaling {

struct SweepSize {
  std::string name;
  model::ModelConfig model;  // vocab_size 0 until the data gives it
  double lr = 0;             // its peak learning rate ("lr" beside the model fields; 0: the train section's)
  std::string family;        // with "lrs": the size this is a learning-rate variant of (else its own name)
};

struct EvalSpec {
  int64_t val_batches = 20;         // validation batches of the final loss (the data point)
  int items = 30;                   // items of each few-shot task
  std::vector<int> ks = {0, 1, 3, 8};
  bool builtin_tasks = true;        // also the story world's built-in multiple-choice tasks
  int pairs = 200;                  // minimal pairs of each zero-shot grammar task (minimal_pairs.h)
  int induction_windows = 8, induction_length = 64;
};

struct SweepConfig {
  std::string path;
  std::vector<SweepSize> sizes;
  std::vector<double> tokens, flops;  // exactly one of them is non-empty
  std::vector<double> lrs;            // "lrs": the sizes below are already expanded, one per learning rate
  train::TrainConfig train;
  double warmup_fraction = 0.05;
  int64_t min_steps = 20;
  bool has_holdout = false;
  SweepSize holdout;
  double holdout_tokens = 0;
  EvalSpec eval;
  nlohmann::json source;  // the file as read, recorded in the sweep folder

  static SweepConfig from_json(const nlohmann::json& j, const std::string& origin);
  static SweepConfig load(const std::string& path);
};

// The peak and final learning rates a size trains with: its own lr, or the train section's;
// min_lr keeps the train section's ratio to lr.
void apply_size_lr(const SweepSize& s, train::TrainConfig& tc);

// Non-embedding parameters (Kaplan et al.'s N): all weights but the token embedding and a
// separate output head.
int64_t non_embedding_params(const model::ModelConfig& c);

}  // namespace slm::scaling
