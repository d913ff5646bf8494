#include "slm/align/run.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>

#include "slm/align/before_after.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::align {

namespace fs = std::filesystem;

EpochOrder::EpochOrder(size_t n, uint64_t seed) : n_(n), seed_(seed) { plan(); }

void EpochOrder::plan() {
  order_.resize(n_);
  for (size_t i = 0; i < n_; ++i) order_[i] = i;
  Rng rng(seed_ * 7919 + epoch_);
  rng.shuffle(order_);
}

size_t EpochOrder::next() {
  if (position_ >= n_) ++epoch_, position_ = 0, plan();
  return order_[position_++];
}

nlohmann::json EpochOrder::state() const { return {{"epoch", epoch_}, {"position", position_}}; }

void EpochOrder::restore(const nlohmann::json& s) {
  epoch_ = s.at("epoch"), position_ = s.at("position");
  plan();
}

AlignModels load_align_models(const AlignRun& run) {
  omp_set_num_threads(std::max(1, run.threads));
  AlignModels m;
  m.tokenizer_json = (fs::path(run.base) / "tokenizer.json").string();
  if (!fs::is_directory(run.base) || !fs::exists(m.tokenizer_json))
    throw Error("expected a model folder with tokenizer.json", run.base);
  m.policy = model::load_model_and_tokenizer(run.base);
  m.reference = model::load_model(run.base);
  return m;
}

train::LoopOptions align_loop_options(const AlignRun& run, const AlignModels& models, const std::string& data,
                                      const std::string& label, nlohmann::json run_info) {
  train::LoopOptions lo;
  lo.train = run.train;
  lo.out_dir = run.out_dir;
  lo.resume = run.resume;
  lo.tokenizer_json = models.tokenizer_json;
  lo.data_desc = data;
  lo.label = label;
  run_info["base"] = run.base;
  run_info["objective"] = label;
  run_info["template"] = "alpaca";
  lo.run_info = std::move(run_info);
  lo.quiet = run.quiet;
  lo.stop_after = run.stop_after;
  lo.add_files = [](const std::string& dir) { tokenizer::write_template_file(dir); };
  return lo;
}

void evaluate_run(const AlignRun& run, AlignResult& res) {
  if (res.train.model_dir.empty() || (run.eval.empty() && run.eval_stories <= 0)) return;
  BeforeAfterOptions bo;
  bo.records = run.eval, bo.limit = run.eval_limit, bo.stories = run.eval_stories, bo.quiet = run.quiet;
  res.comparison = before_after(run.base, res.train.model_dir, (fs::path(run.out_dir) / "eval").string(), bo);
}

}  // namespace slm::align
