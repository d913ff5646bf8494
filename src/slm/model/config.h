#pragma once
// The model's shape: a Llama-family decoder (RMSNorm, rotary positions, grouped-query
// attention, SwiGLU MLP, no biases, optionally tied embeddings).
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

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
  // Throws slm::Error naming the field that is out of range or inconsistent. Sizes have
  // upper ends too, so a corrupt file cannot ask for terabytes.
  void validate(const std::string& origin) const;

  // Our own JSON ("model" section of configs/*.json). Unknown fields (with the nearest
  // valid name) and wrong types are errors naming "model.FIELD".
  static ModelConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
  static std::vector<std::string> field_names();
  // Hugging Face's name for one of our fields ("n_layers" -> "num_hidden_layers").
  static std::string hf_field(const std::string& ours);
  // Hugging Face's config.json for LlamaForCausalLM, and back: the one description of a
  // model folder. Missing fields, wrong types and settings slm cannot run are errors.
  nlohmann::json to_hf_config() const;
  static ModelConfig from_hf_config(const nlohmann::json& j, const std::string& origin);
};

// Parameter count: all, and the part that does matrix products (for FLOPs).
int64_t count_params(const ModelConfig& c);
// Training FLOPs per token (PaLM appendix B): 6N + 12 · layers · dim · context.
double flops_per_token(const ModelConfig& c);

// The name in `names` nearest to `key` by edit distance, or "" when none is close enough
// to be a typo of it (at most a third of the letters changed, at least 2 edits allowed).
std::string nearest_name(const std::string& key, const std::vector<std::string>& names);
// "unknown field 'model.n_layer'; did you mean 'model.n_layers'?": the message for a key
// of a section that is none of `names`.
std::string unknown_field_message(const std::string& key, const std::string& section,
                                  const std::vector<std::string>& names);

}  // namespace slm::model
