#include "slm/train/train_config.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "slm/model/config.h"
#include "slm/tensor/bf16.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"
#include "slm/util/jsonl.h"

namespace slm::train {

using nlohmann::json;

void TrainConfig::validate(const std::string& origin) const {
  auto need = [&](bool ok, const char* f, const char* what) {
    if (!ok) throw Error(std::string("train.") + f + " " + what, origin);
  };
  // Upper ends keep a typo from asking for terabytes of activations.
  need(batch_size >= 1 && batch_size <= 65536, "batch_size", "must be in [1, 65536]");
  need(grad_accum >= 1 && grad_accum <= (1 << 20), "grad_accum", "must be in [1, 1048576]");
  need(max_steps >= 1, "max_steps", "must be at least 1");
  need(lr > 0, "lr", "must be positive");
  need(min_lr >= 0 && min_lr <= lr, "min_lr", "must be in [0, lr]");
  need(warmup_steps >= 0, "warmup_steps", "must not be negative");
  need(weight_decay >= 0, "weight_decay", "must not be negative");
  need(beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1)");
  need(beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1)");
  need(eps > 0, "eps", "must be positive");
  need(grad_clip >= 0, "grad_clip", "must not be negative");
  need(eval_every >= 0 && eval_batches >= 1, "eval_every", "and eval_batches must be >= 0 and >= 1");
  need(checkpoint_every >= 0, "checkpoint_every", "must not be negative");
  need(keep_checkpoints >= 1, "keep_checkpoints", "must be at least 1");
  need(log_every >= 1, "log_every", "must be at least 1");
  need(zero == 0 || zero == 1, "zero", "must be 0 (off) or 1 (shard the AdamW state over the ranks)");
  need(dist_timeout > 0, "dist_timeout", "must be positive (seconds)");
  need(schedule == "cosine" || schedule == "wsd", "schedule", "must be \"cosine\" or \"wsd\"");
  need(decay_fraction > 0 && decay_fraction <= 1, "decay_fraction", "must be in (0, 1]");
  tensor::parse_precision(dtype, origin + ": train.dtype");
}

namespace {

// Every field once, so reading, writing and listing the names cannot drift apart.
template <class C, class F>
void for_each_field(C& c, F&& f) {
  f("batch_size", c.batch_size);
  f("grad_accum", c.grad_accum);
  f("max_steps", c.max_steps);
  f("lr", c.lr);
  f("min_lr", c.min_lr);
  f("warmup_steps", c.warmup_steps);
  f("schedule", c.schedule);
  f("decay_fraction", c.decay_fraction);
  f("weight_decay", c.weight_decay);
  f("beta1", c.beta1);
  f("beta2", c.beta2);
  f("eps", c.eps);
  f("grad_clip", c.grad_clip);
  f("decay_embeddings", c.decay_embeddings);
  f("share_space_embeddings", c.share_space_embeddings);
  f("eval_every", c.eval_every);
  f("eval_batches", c.eval_batches);
  f("checkpoint_every", c.checkpoint_every);
  f("keep_checkpoints", c.keep_checkpoints);
  f("log_every", c.log_every);
  f("seed", c.seed);
  f("dtype", c.dtype);
  f("zero", c.zero);
  f("deterministic", c.deterministic);
  f("overlap_comm", c.overlap_comm);
  f("dist_timeout", c.dist_timeout);
}

template <class T>
void read_value(const json& v, T& dst, const std::string& key, const std::string& origin) {
  const std::string name = "train." + key;
  const std::string s = shown_json(v);
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) throw Error("field '" + name + "' must be a string, not " + s, origin);
    dst = v.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) throw Error("field '" + name + "' must be true or false, not " + s, origin);
    dst = v.get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) throw Error("field '" + name + "' must be an integer, not " + s, origin);
    // Checked before narrowing, so a huge or negative count cannot wrap into a small one.
    const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(std::numeric_limits<T>::max())
                                             : v.get<int64_t>() >= int64_t(std::numeric_limits<T>::min()) &&
                                                   (std::is_unsigned_v<T> || v.get<int64_t>() <= int64_t(std::numeric_limits<T>::max()));
    if (!fits) throw Error("field '" + name + "' is " + s + ", out of range", origin);
    dst = v.get<T>();
  } else {
    if (!v.is_number()) throw Error("field '" + name + "' must be a number, not " + s, origin);
    dst = v.get<T>();
  }
}

}  // namespace

std::vector<std::string> TrainConfig::field_names() {
  TrainConfig c;
  std::vector<std::string> names;
  for_each_field(c, [&](const char* k, auto&) { names.emplace_back(k); });
  return names;
}

TrainConfig TrainConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("the train section must be a JSON object", origin);
  TrainConfig c;
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for_each_field(c, [&](const char* name, auto& dst) {
      if (k != name) return;
      read_value(v, dst, k, origin);
      known = true;
    });
    if (!known) throw Error(unknown_field_message(k, "train", field_names()), origin);
  }
  return c;
}

json TrainConfig::to_json() const {
  json j = json::object();
  for_each_field(*this, [&](const char* k, const auto& v) { j[k] = v; });
  return j;
}

int64_t decay_start(const TrainConfig& c) {
  if (c.schedule != "wsd") return std::min(c.warmup_steps, c.max_steps);
  const int64_t decay = std::max<int64_t>(1, int64_t(std::llround(c.decay_fraction * double(c.max_steps))));
  return std::clamp(c.max_steps - decay, std::min(c.warmup_steps, c.max_steps), c.max_steps);
}

double learning_rate(const TrainConfig& c, int64_t step) {
  if (step < c.warmup_steps) return c.lr * double(step + 1) / double(c.warmup_steps);
  if (step >= c.max_steps) return c.min_lr;
  const int64_t start = decay_start(c);
  if (step < start) return c.lr;  // WSD's stable phase
  const double progress = double(step - start) / double(std::max<int64_t>(1, c.max_steps - start));
  if (c.schedule == "wsd") return c.min_lr + (1.0 - std::sqrt(progress)) * (c.lr - c.min_lr);
  return c.min_lr + 0.5 * (1.0 + std::cos(M_PI * progress)) * (c.lr - c.min_lr);
}

}  // namespace slm::train
