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

  // Mixture of experts (docs/moe.md): 0 experts is the dense model. A layer l is MoE when
  // (l + 1) % moe_every == 0; its MLP becomes a router over n_experts SwiGLU experts of
  // expert_hidden_dim (0: hidden_dim), of which experts_per_token run for each token,
  // plus n_shared_experts that every token runs (DeepSeekMoE).
  int n_experts = 0;
  int experts_per_token = 2;
  int n_shared_experts = 0;
  int moe_every = 1;
  int expert_hidden_dim = 0;
  // "topk_softmax": gates are the softmax over the k chosen logits (Mixtral; llama.cpp's
  // llama arch). "softmax_topk": gates are the full softmax's probabilities of the k
  // chosen experts, not renormalised (Switch, DeepSeekMoE, Qwen-MoE's default).
  std::string router = "topk_softmax";
  // 0: dropless (every routed token runs). > 0: each expert takes at most
  // ceil(capacity_factor * tokens * k / n_experts) tokens of a batch, in order; the rest skip it.
  float capacity_factor = 0.f;
  float router_aux_loss_coef = 0.01f;  // Switch load-balancing loss weight
  float router_z_loss_coef = 0.001f;   // ST-MoE router z-loss weight

  bool is_moe() const { return n_experts > 0; }
  bool moe_layer(int l) const { return n_experts > 0 && (l + 1) % moe_every == 0; }
  int expert_dim() const { return expert_hidden_dim > 0 ? expert_hidden_dim : hidden_dim; }

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

// Why llama.cpp's llama arch and transformers' Mixtral cannot run this MoE config
// ("" when they can, or for a dense model): they need every layer MoE, no shared
// experts and softmax-then-top-k renormalised gates (slm's "topk_softmax").
std::string mixtral_incompatibility(const ModelConfig& c);

// Parameter count: all, and the part that does matrix products (for FLOPs).
int64_t count_params(const ModelConfig& c);
// The parameters one token uses: an MoE layer counts its router, its shared experts and
// experts_per_token of its experts (what "equal active parameters" compares).
int64_t count_active_params(const ModelConfig& c);
// Training FLOPs per token (PaLM appendix B): 6N + 12 · layers · dim · context.
double flops_per_token(const ModelConfig& c);
// The same with every weight frozen and adapter_params trained (LoRA): a frozen weight's
// gradient GEMM is skipped, so it costs 4 FLOPs a token (forward, and the gradient to its
// input) instead of 6; the adapters cost 6 each. Without this a LoRA run's MFU read >100%.
double flops_per_token_frozen(const ModelConfig& c, int64_t adapter_params);

}  // namespace slm::model
