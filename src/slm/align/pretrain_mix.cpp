#include "slm/align/pretrain_mix.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "slm/data/pack.h"
#include "slm/train/kd_loss.h"
#include "slm/util/error.h"

namespace slm::align {

namespace fs = std::filesystem;

namespace {

// Token ids mean the same under both tokenizers only when they are the same tokenizer:
// compared as they would be written (whitespace and key order aside).
void check_same_tokenizer(const std::string& dir, const tokenizer::Tokenizer& model_tok) {
  const std::string packed = (fs::path(dir) / "tokenizer.json").string();
  if (!fs::exists(packed)) return;  // only the vocabulary check below
  if (tokenizer::Tokenizer::load(packed).to_json() != model_tok.to_json())
    throw Error("the shards were packed with another tokenizer than the model's", packed);
}

}  // namespace

PretrainMix::PretrainMix(const PretrainMixSettings& s, const model::ModelConfig& mc,
                         const tokenizer::Tokenizer& model_tok, int grad_accum, uint64_t seed)
    : s_(s) {
  if (!(s.coef > 0 && std::isfinite(s.coef))) throw Error("expected a finite weight > 0", "--ptx-coef");
  if (s.batch < 1) throw Error("expected at least 1 window", "--ptx-batch");
  if (s.loss != "next-token" && s.loss != "kl") throw Error("expected next-token or kl", "--ptx-loss");
  if (!s.teacher.empty() && s.loss != "kl") throw Error("a teacher is the target of --ptx-loss kl only", "--ptx-teacher");
  if (s.context == 0) s_.context = mc.context;
  if (s_.context < 1 || s_.context > mc.context)
    throw Error(fmt::format("expected 1 to the model's context ({}) tokens", mc.context), "--ptx-context");
  const auto paths = data::list_shards(s.data, "train");
  if (paths.empty()) throw Error("no train_*.bin shards (make them with slm data pack)", s.data);
  check_same_tokenizer(s.data, model_tok);
  shards_ = std::make_unique<data::OpenShards>(paths);
  if (const uint32_t top = shards_->max_token(); int64_t(top) >= mc.vocab_size)
    throw Error(fmt::format("the shards hold token {} but the model's vocabulary is {}", top, mc.vocab_size), s.data);
  data::SamplerOptions so;
  so.context = s_.context, so.batch = s_.batch, so.accum = grad_accum;
  so.seed = seed ^ 0x70747821ull;  // its own order, not the requests'
  batches_ = std::make_unique<train::ShardBatches>(*shards_, so);
  if (!s.teacher.empty()) load_teacher(mc, model_tok);  // last: the shards' checks cost less than a model
}

PretrainMix::~PretrainMix() = default;

void PretrainMix::draw(train::Batch& into) { batches_->next(into); }

// The teacher of --ptx-loss kl, when named: it must read the same token ids (the same
// tokenizer) and give logits over the same vocabulary; its context may differ, but must
// hold a window.
void PretrainMix::load_teacher(const model::ModelConfig& mc, const tokenizer::Tokenizer& model_tok) {
  teacher_ = model::load_model_and_tokenizer(s_.teacher);  // names the folder when it has no tokenizer.json
  if (teacher_.tok->to_json() != model_tok.to_json())
    throw Error("the teacher has another tokenizer than the model's", (fs::path(s_.teacher) / "tokenizer.json").string());
  const auto& tc = teacher_.model->config();
  if (tc.vocab_size != mc.vocab_size)
    throw Error(fmt::format("the teacher's vocabulary is {} tokens, the model's {}", tc.vocab_size, mc.vocab_size),
                s_.teacher);
  if (tc.context < s_.context)
    throw Error(fmt::format("the teacher's context ({}) is shorter than a window ({} tokens)", tc.context, s_.context),
                s_.teacher);
}

double PretrainMix::forward_backward(model::Transformer<float>& m, const train::Batch& w, double share,
                                     const Reference& reference) {
  const double per_token = s_.coef * share / double(w.counted);
  if (!kl()) return m.forward_backward(w.x.data(), w.y.data(), w.B, w.T, per_token);
  // The teacher's distribution at each position (at the model's precision, as the
  // reference's log-probabilities are), then KL(teacher || model) alone: alpha 0 leaves
  // the text's own next token out of the loss.
  if (teacher_.model) Reference(*teacher_.model).logits(w.x.data(), w.B, w.T, m.precision(), teacher_logits_);
  else reference.logits(w.x.data(), w.B, w.T, m.precision(), teacher_logits_);
  train::KdOptions kd;
  kd.alpha = 0, kd.temperature = 1, kd.divergence = train::Divergence::forward;
  const train::TeacherLogits t{teacher_logits_.data(), nullptr, nullptr, 0};
  const int V = m.config().vocab_size;
  return m.forward_backward_logits(w.x.data(), w.B, w.T, [&](float* z) {
    return train::kd_forward_backward(z, w.y.data(), t, w.B * w.T, V, kd, per_token).loss;
  }, per_token);
}

// The sampler's place, with the shape of its windows: the same place in windows of
// another shape would be other windows.
nlohmann::json PretrainMix::state() const {
  return {{"sampler", batches_->state()}, {"batch", s_.batch}, {"context", s_.context}, {"loss", s_.loss},
          {"teacher", s_.teacher}};
}

void PretrainMix::restore(const nlohmann::json& s) {
  if (s.value("batch", -1) != s_.batch)
    throw Error(fmt::format("the checkpoint drew {} windows a micro-batch: resume with that", s.value("batch", -1)),
                "--ptx-batch");
  if (s.value("context", -1) != s_.context)
    throw Error(fmt::format("the checkpoint's windows were {} tokens: resume with that", s.value("context", -1)),
                "--ptx-context");
  if (const std::string loss = s.value("loss", "next-token"); loss != s_.loss)
    throw Error(fmt::format("the checkpoint's mix was trained with --ptx-loss {}: resume with that", loss), "--ptx-loss");
  // Another teacher would be another target half-way through (the same folder named
  // another way is the same teacher).
  const std::string teacher = s.value("teacher", "");
  const auto canon = [](const std::string& d) { return d.empty() ? d : fs::weakly_canonical(d).string(); };
  if (canon(teacher) != canon(s_.teacher))
    throw Error(teacher.empty() ? "the checkpoint's mix had no teacher folder (the reference): resume without"
                                : "the checkpoint's mix was trained with the teacher " + teacher + ": resume with that",
                "--ptx-teacher");
  batches_->restore(s.at("sampler"));
}

}  // namespace slm::align
