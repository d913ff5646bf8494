#include "slm/align/run.h"

#include <omp.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slm/align/before_after.h"
#include "slm/align/policy_loss.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/train/sft.h"
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
  if (run.lora.rank <= 0) {
    m.reference = model::load_model(run.base);
    return m;
  }
  train::LoraConfig lc = run.lora;
  lc.base = run.base;
  m.lora = std::make_unique<train::LoraTrainable>(*m.policy.model, lc, run.train.seed);
  if (!run.quiet) {
    const auto mem = train::training_memory(*m.policy.model, m.lora.get());
    fmt::print(stderr,
               "LoRA r={} alpha={} dropout={} on {}: training {} of {} parameters; the reference is the base "
               "without the adapters (no second copy of the weights: {:.1f} MB saved)\n",
               lc.rank, lc.alpha, lc.dropout, fmt::join(lc.targets, ","), mem["trainable_params"].get<int64_t>(),
               m.policy.model->num_params(), double(m.policy.model->num_params() * int64_t(sizeof(float))) / 1e6);
  }
  return m;
}

namespace {

// Runs f with the model computing the reference: at `precision`, and with LoRA the base
// alone: W = W0, and the adapters' dropout off (in training it adds its term to the
// output even with the adapters unmerged). All restored after.
template <class F>
void as_reference(model::Transformer<float>& m, train::LoraAdapters<float>* lora, tensor::Precision precision, F f) {
  const tensor::Precision keep = m.precision();
  if (precision != keep) m.set_precision(precision);
  const bool training = lora && lora->training();
  const uint64_t key = lora ? lora->key() : 0;
  if (lora) lora->set_training(false), lora->unmerge();
  f();
  if (lora) lora->merge(), lora->set_training(training, key);
  if (precision != keep) m.set_precision(keep);
}

}  // namespace

void Reference::logprobs(const int32_t* inputs, const int32_t* targets, int B, int Tn, tensor::Precision precision,
                         std::vector<double>& out) const {
  as_reference(*model_, lora_, precision, [&] { token_logprobs(*model_, inputs, targets, B, Tn, out); });
}

void Reference::logits(const int32_t* inputs, int B, int Tn, tensor::Precision precision,
                       std::vector<float>& out) const {
  as_reference(*model_, lora_, precision, [&] {
    model_->forward(inputs, B, Tn);
    out.assign(model_->logits(), model_->logits() + size_t(B) * size_t(Tn) * size_t(model_->config().vocab_size));
  });
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
  if (models.lora) {
    lo.adapters = models.lora.get();
    lo.run_info["lora"] = models.lora->lora().config().to_peft_json();
  }
  // Weights, gradients and AdamW state; the full-weight run's reference is one more copy.
  nlohmann::json mem = train::training_memory(*models.policy.model, models.lora.get());
  const int64_t reference = models.lora ? 0 : models.policy.model->num_params() * int64_t(sizeof(float));
  mem["reference"] = reference;
  mem["total"] = mem["total"].get<int64_t>() + reference;
  lo.run_info["memory_bytes"] = mem;
  return lo;
}

void evaluate_run(const AlignRun& run, AlignResult& res) {
  if (res.train.model_dir.empty() || (run.eval.empty() && run.eval_stories <= 0)) return;
  BeforeAfterOptions bo;
  bo.records = run.eval, bo.limit = run.eval_limit, bo.stories = run.eval_stories, bo.quiet = run.quiet;
  std::string tuned = res.train.model_dir;
  if (run.lora.rank > 0) {  // the evaluation reads whole models: the adapter folded into the base
    tuned = (fs::path(run.out_dir) / "merged").string();
    train::merge_lora(run.base, res.train.model_dir, tuned);
  }
  res.comparison = before_after(run.base, tuned, (fs::path(run.out_dir) / "eval").string(), bo);
}

}  // namespace slm::align
