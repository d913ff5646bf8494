#pragma once
// Sparse Upcycling (Komatsuzaki et al. 2022): a dense model becomes a mixture of experts
// by copying each layer's MLP into every expert and adding a router initialised small,
// so the new model starts out computing what the dense one did (with topk_softmax gates,
// which sum to 1, exactly) and training from there specialises the experts.
#include <cstdint>
#include <string>

namespace slm::model {

struct UpcycleOptions {
  int experts = 8;
  int experts_per_token = 2;
  double router_std = 0.002;  // N(0, σ) router weights: near-uniform routing at first
  uint64_t seed = 1;
};

// Reads the dense model folder model_dir, writes the MoE folder out (config.json,
// model.safetensors, and the folder's other files such as tokenizer.json), atomically.
// Returns the new model's parameter count. Throws slm::Error for a model that already
// has experts or options out of range.
int64_t upcycle_model(const std::string& model_dir, const std::string& out, const UpcycleOptions& opt);

}  // namespace slm::model
