#include "slm/train/train_config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "slm/util/error.h"

namespace slm::train {

using nlohmann::json;

void TrainConfig::validate(const std::string& origin) const {
  auto need = [&](bool ok, const char* f, const char* what) {
    if (!ok) throw Error(std::string("train.") + f + " " + what, origin);
  };
  need(batch_size >= 1, "batch_size", "must be at least 1");
  need(grad_accum >= 1, "grad_accum", "must be at least 1");
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
}

TrainConfig TrainConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("the train section must be a JSON object", origin);
  TrainConfig c;
  for (const auto& [k, v] : j.items()) {
    auto num = [&](auto& dst) {
      if (!v.is_number()) throw Error("field 'train." + k + "' must be a number", origin);
      using D = std::decay_t<decltype(dst)>;
      if (std::is_integral_v<D> && !v.is_number_integer())
        throw Error("field 'train." + k + "' must be an integer", origin);
      dst = v.get<D>();
    };
    if (k == "batch_size") num(c.batch_size);
    else if (k == "grad_accum") num(c.grad_accum);
    else if (k == "max_steps") num(c.max_steps);
    else if (k == "lr") num(c.lr);
    else if (k == "min_lr") num(c.min_lr);
    else if (k == "warmup_steps") num(c.warmup_steps);
    else if (k == "weight_decay") num(c.weight_decay);
    else if (k == "beta1") num(c.beta1);
    else if (k == "beta2") num(c.beta2);
    else if (k == "eps") num(c.eps);
    else if (k == "grad_clip") num(c.grad_clip);
    else if (k == "eval_every") num(c.eval_every);
    else if (k == "eval_batches") num(c.eval_batches);
    else if (k == "checkpoint_every") num(c.checkpoint_every);
    else if (k == "keep_checkpoints") num(c.keep_checkpoints);
    else if (k == "log_every") num(c.log_every);
    else if (k == "seed") num(c.seed);
    else if (k == "decay_embeddings") {
      if (!v.is_boolean()) throw Error("field 'train.decay_embeddings' must be true or false", origin);
      c.decay_embeddings = v.get<bool>();
    } else {
      throw Error("unknown train field '" + k + "'", origin);
    }
  }
  return c;
}

json TrainConfig::to_json() const {
  return {{"batch_size", batch_size},     {"grad_accum", grad_accum},     {"max_steps", max_steps},
          {"lr", lr},                     {"min_lr", min_lr},             {"warmup_steps", warmup_steps},
          {"weight_decay", weight_decay}, {"beta1", beta1},               {"beta2", beta2},
          {"eps", eps},                   {"grad_clip", grad_clip},       {"decay_embeddings", decay_embeddings},
          {"eval_every", eval_every},     {"eval_batches", eval_batches}, {"checkpoint_every", checkpoint_every},
          {"keep_checkpoints", keep_checkpoints}, {"log_every", log_every}, {"seed", seed}};
}

double learning_rate(const TrainConfig& c, int64_t step) {
  if (step < c.warmup_steps) return c.lr * double(step + 1) / double(c.warmup_steps);
  if (step >= c.max_steps) return c.min_lr;
  double progress = double(step - c.warmup_steps) / double(std::max<int64_t>(1, c.max_steps - c.warmup_steps));
  return c.min_lr + 0.5 * (1.0 + std::cos(M_PI * progress)) * (c.lr - c.min_lr);
}

}  // namespace slm::train
