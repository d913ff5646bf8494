#pragma once
// What every alignment run shares, whatever its objective: the base model (which starts
// the policy and, frozen, is the reference), the run folder and the training loop's
// options, and the before/after evaluation when the run completes.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/model_files.h"
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

struct AlignModels {
  model::LoadedModel policy;                         // trained
  std::unique_ptr<model::Transformer<float>> reference;  // frozen
  std::string tokenizer_json;
};
// Sets the threads and loads the base twice. Throws slm::Error when it is not a model folder with a tokenizer.
AlignModels load_align_models(const AlignRun& run);

// The loop's options for a run: checkpoints carry the tokenizer and the Alpaca template.
train::LoopOptions align_loop_options(const AlignRun& run, const AlignModels& models, const std::string& data,
                                      const std::string& label, nlohmann::json run_info);

// The before/after evaluation of a completed run (nothing when interrupted or not asked).
void evaluate_run(const AlignRun& run, AlignResult& res);

}  // namespace slm::align
