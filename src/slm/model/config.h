#pragma once
// The model's shape: a Llama-family decoder (RMSNorm, rotary positions, grouped-query
// attention, SwiGLU MLP, no biases, optionally tied embeddings).
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace slm::model {

struct ModelConfig {
  int vocab_size = 0;  // 0: taken from the tokenizer of the data
  int dim = 288;
  int n_layers = 6;
  int n_heads = 6;
  int n_kv_heads = 6;
  int hidden_dim = 768;
  int context = 256;
  float norm_eps = 1e-5f;
  float rope_theta = 10000.f;
  bool tie_embeddings = true;

  int head_dim() const { return dim / n_heads; }
  int kv_dim() const { return n_kv_heads * head_dim(); }
  // Throws slm::Error naming the field that is out of range or inconsistent.
  void validate(const std::string& origin) const;

  // Our own JSON ("model" section of configs/*.json); unknown fields are errors.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
  // Hugging Face's config.json for LlamaForCausalLM, and back.
  nlohmann::json to_hf_config() const;
  static ModelConfig from_hf_config(const nlohmann::json& j, const std::string& origin);
};

// Parameter count: all, and the part that does matrix products (for FLOPs).
int64_t count_params(const ModelConfig& c);
// Training FLOPs per token (PaLM appendix B): 6N + 12 · layers · dim · context.
double flops_per_token(const ModelConfig& c);

}  // namespace slm::model
