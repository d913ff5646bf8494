#include "slm/model/config.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "slm/util/error.h"
#include "slm/util/field_names.h"
#include "slm/util/jsonl.h"

namespace slm::model {

using nlohmann::json;

namespace {

// Every field once: our name, Hugging Face's name, the member, and whether it belongs to
// the mixture of experts (docs/moe.md; a dense model's files do not carry those). Reading,
// writing and naming both forms go through this one table, so they cannot drift apart.
// The MoE fields' Hugging Face names are Mixtral's where it has one, DeepSeekMoE's for the
// shared experts, the layer frequency and the expert width, and slm's own for the rest.
constexpr bool kDense = false, kMoe = true;
template <class C, class F>
void for_each_field(C& c, F&& f) {
  f("vocab_size", "vocab_size", c.vocab_size, kDense);
  f("dim", "hidden_size", c.dim, kDense);
  f("n_layers", "num_hidden_layers", c.n_layers, kDense);
  f("n_heads", "num_attention_heads", c.n_heads, kDense);
  f("n_kv_heads", "num_key_value_heads", c.n_kv_heads, kDense);
  f("hidden_dim", "intermediate_size", c.hidden_dim, kDense);
  f("context", "max_position_embeddings", c.context, kDense);
  f("norm_eps", "rms_norm_eps", c.norm_eps, kDense);
  f("rope_theta", "rope_theta", c.rope_theta, kDense);
  f("tie_embeddings", "tie_word_embeddings", c.tie_embeddings, kDense);
  f("n_experts", "num_local_experts", c.n_experts, kMoe);
  f("experts_per_token", "num_experts_per_tok", c.experts_per_token, kMoe);
  f("n_shared_experts", "n_shared_experts", c.n_shared_experts, kMoe);
  f("moe_every", "moe_layer_freq", c.moe_every, kMoe);
  f("expert_hidden_dim", "moe_intermediate_size", c.expert_hidden_dim, kMoe);
  f("router", "slm_router", c.router, kMoe);
  f("capacity_factor", "capacity_factor", c.capacity_factor, kMoe);
  f("router_aux_loss_coef", "router_aux_loss_coef", c.router_aux_loss_coef, kMoe);
  f("router_z_loss_coef", "router_z_loss_coef", c.router_z_loss_coef, kMoe);
}

// The fields a config of this kind has: the dense ones, plus the MoE ones for an MoE model.
template <class C, class F>
void for_each_field_of(C& c, bool moe, F&& f) {
  for_each_field(c, [&](const char* ours, const char* hf, auto& v, bool moe_field) {
    if (moe || !moe_field) f(ours, hf, v);
  });
}

std::string hf_name(const std::string& ours) {
  ModelConfig c;
  std::string hf = ours;
  for_each_field(c, [&](const char* o, const char* h, auto&, bool) {
    if (ours == o) hf = h;
  });
  return hf;
}

std::string shown(const json& v) { return shown_json(v); }

// A float as its shortest decimal (1e-05, not 9.999999747378752e-06): what a person
// wrote, and it reads back to the same float.
json as_json(float v) { return std::stod(fmt::format("{}", v)); }
json as_json(int v) { return v; }
json as_json(bool v) { return v; }
json as_json(const std::string& v) { return v; }

void read_value(const json& v, int& dst, const std::string& name, const std::string& origin) {
  if (!v.is_number_integer()) throw Error("field '" + name + "' must be an integer, not " + shown(v), origin);
  // Checked before narrowing: 2^40 must not wrap into a small, plausible size.
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                           : v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX;
  if (!fits) throw Error("field '" + name + "' is " + shown(v) + ", far beyond any model size", origin);
  dst = int(v.get<int64_t>());
}

void read_value(const json& v, float& dst, const std::string& name, const std::string& origin) {
  if (!v.is_number()) throw Error("field '" + name + "' must be a number, not " + shown(v), origin);
  const double d = v.get<double>();
  if (!std::isfinite(float(d))) throw Error("field '" + name + "' is " + shown(v) + ", outside a float's range", origin);
  dst = float(d);
}

void read_value(const json& v, std::string& dst, const std::string& name, const std::string& origin) {
  if (!v.is_string()) throw Error("field '" + name + "' must be a string, not " + shown(v), origin);
  dst = v.get<std::string>();
}

void read_value(const json& v, bool& dst, const std::string& name, const std::string& origin) {
  if (!v.is_boolean()) throw Error("field '" + name + "' must be true or false, not " + shown(v), origin);
  dst = v.get<bool>();
}

// Upper ends keep every product of sizes inside int64 and a corrupt file from asking
// for terabytes; each is far above any model slm trains on a CPU.
constexpr int kMaxVocab = 1 << 24, kMaxDim = 1 << 16, kMaxLayers = 1024, kMaxHidden = 1 << 18, kMaxContext = 1 << 20;
constexpr int64_t kMaxParams = int64_t(1) << 36;

void check_ranges(const ModelConfig& c, const std::string& origin, bool hf_names) {
  auto need = [&](bool ok, const char* field, const std::string& what) {
    if (!ok) throw Error((hf_names ? hf_name(field) : std::string(field)) + " " + what, origin);
  };
  auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  auto range = [](int lo, int hi) { return "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"; };
  need(in(c.vocab_size, 1, kMaxVocab), "vocab_size", range(1, kMaxVocab));
  need(in(c.dim, 2, kMaxDim), "dim", range(2, kMaxDim));
  need(in(c.n_layers, 1, kMaxLayers), "n_layers", range(1, kMaxLayers));
  need(in(c.n_heads, 1, c.dim) && c.dim % c.n_heads == 0, "n_heads",
       "must divide " + (hf_names ? hf_name("dim") : std::string("dim")) + " (" + std::to_string(c.dim) + ")");
  need(c.head_dim() % 2 == 0, "n_heads", "must leave an even head size for rotary embeddings");
  need(in(c.n_kv_heads, 1, c.n_heads) && c.n_heads % c.n_kv_heads == 0, "n_kv_heads",
       "must divide " + (hf_names ? hf_name("n_heads") : std::string("n_heads")) + " (" + std::to_string(c.n_heads) +
           ")");
  need(in(c.hidden_dim, 1, kMaxHidden), "hidden_dim", range(1, kMaxHidden));
  need(in(c.context, 1, kMaxContext), "context", range(1, kMaxContext));
  need(c.norm_eps > 0, "norm_eps", "must be positive");
  need(c.rope_theta > 0, "rope_theta", "must be positive");
  need(in(c.n_experts, 0, 1024), "n_experts", range(0, 1024) + " (0: a dense model)");
  if (c.n_experts > 0) {
    need(in(c.experts_per_token, 1, c.n_experts), "experts_per_token", range(1, c.n_experts) + " (n_experts)");
    need(in(c.moe_every, 1, c.n_layers), "moe_every", range(1, c.n_layers) + " (n_layers)");
    need(in(c.expert_hidden_dim, 0, kMaxHidden), "expert_hidden_dim", range(0, kMaxHidden) + " (0: hidden_dim)");
    need(c.router == "topk_softmax" || c.router == "softmax_topk", "router",
         "is \"" + c.router + "\"; expected \"topk_softmax\" (Mixtral) or \"softmax_topk\" (Switch)");
    need(c.capacity_factor >= 0, "capacity_factor", "must be 0 (dropless) or positive");
    need(c.router_aux_loss_coef >= 0, "router_aux_loss_coef", "must not be negative");
    need(c.router_z_loss_coef >= 0, "router_z_loss_coef", "must not be negative");
  }
  need(in(c.n_shared_experts, 0, 64) && (c.n_shared_experts == 0 || c.n_experts > 0), "n_shared_experts",
       c.n_experts > 0 ? range(0, 64) : "needs n_experts > 0 (shared experts belong to MoE layers)");
  need(count_params(c) <= kMaxParams, "dim",
       "and the other sizes give " + std::to_string(count_params(c)) + " parameters, more than slm handles (2^36)");
}

// Settings of a Llama config.json that slm's model does not have: refused, not ignored.
void check_supported(const json& j, const std::string& origin) {
  auto is = [&](const char* f, const json& want) { return !j.contains(f) || j[f] == want; };
  if (!is("model_type", "llama") && !is("model_type", "mixtral"))
    throw Error("field 'model_type' is " + shown(j["model_type"]) + "; only \"llama\" and \"mixtral\" are supported", origin);
  if (!is("hidden_act", "silu")) throw Error("field 'hidden_act' is " + shown(j["hidden_act"]) + "; only \"silu\" is supported", origin);
  for (const char* f : {"attention_bias", "mlp_bias"})
    if (!is(f, false)) throw Error(std::string("field '") + f + "' must be false: slm's layers have no biases", origin);
  if (!is("rope_scaling", nullptr)) throw Error("field 'rope_scaling' must be null: slm has no RoPE scaling", origin);
}

}  // namespace

void ModelConfig::validate(const std::string& origin) const { check_ranges(*this, origin, false); }

std::vector<std::string> ModelConfig::field_names() {
  ModelConfig c;
  std::vector<std::string> names;
  for_each_field(c, [&](const char* ours, const char*, auto&, bool) { names.emplace_back(ours); });
  return names;
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("the model section must be a JSON object, not " + shown(j), origin);
  ModelConfig c;
  for (const auto& [k, v] : j.items()) {
    bool known = false;
    for_each_field(c, [&](const char* ours, const char*, auto& dst, bool) {
      if (k != ours) return;
      read_value(v, dst, "model." + k, origin);
      known = true;
    });
    if (!known) throw Error(unknown_field_message(k, "model", field_names()), origin);
  }
  return c;
}

json ModelConfig::to_json() const {
  json j = json::object();
  for_each_field_of(*this, is_moe(), [&](const char* ours, const char*, const auto& v) { j[ours] = as_json(v); });
  return j;
}

json ModelConfig::to_hf_config() const {
  json j = {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"head_dim", head_dim()},
            {"hidden_act", "silu"},
            {"attention_bias", false},
            {"mlp_bias", false},
            {"torch_dtype", "float32"},
            {"initializer_range", 0.02}};
  for_each_field_of(*this, is_moe(), [&](const char*, const char* hf, const auto& v) { j[hf] = as_json(v); });
  if (is_moe()) {  // Mixtral's config, with the fields Mixtral lacks under DeepSeekMoE's or slm's names
    j["architectures"] = {"MixtralForCausalLM"};
    j["model_type"] = "mixtral";
    j["output_router_logits"] = false;
  }
  return j;
}

ModelConfig ModelConfig::from_hf_config(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("config.json must be a JSON object, not " + shown(j), origin);
  check_supported(j, origin);
  ModelConfig c;
  c.tie_embeddings = false;  // transformers' default for a config.json that does not say
  for_each_field_of(c, false, [&](const char*, const char* hf, auto& dst) {
    auto it = j.find(hf);
    if (it != j.end() && !it->is_null()) return read_value(*it, dst, hf, origin);
    // The sizes are required (num_key_value_heads defaults to num_attention_heads below).
    const bool size = std::is_same_v<std::decay_t<decltype(dst)>, int>;
    if (size && std::string(hf) != "num_key_value_heads") throw Error(std::string("missing field '") + hf + "'", origin);
  });
  if (!j.contains("num_key_value_heads") || j["num_key_value_heads"].is_null()) c.n_kv_heads = c.n_heads;
  if (j.value("model_type", "") == "mixtral") {
    if (!j.contains("num_local_experts")) throw Error("missing field 'num_local_experts' (model_type \"mixtral\")", origin);
    for_each_field(c, [&](const char*, const char* hf, auto& dst, bool moe_field) {
      auto it = j.find(hf);
      if (moe_field && it != j.end() && !it->is_null()) read_value(*it, dst, hf, origin);
    });
    if (c.n_experts < 1) throw Error("field 'num_local_experts' must be at least 1 for model_type \"mixtral\"", origin);
  }
  check_ranges(c, origin, true);
  if (j.contains("head_dim") && !j["head_dim"].is_null()) {
    int hd = 0;
    read_value(j["head_dim"], hd, "head_dim", origin);
    if (hd != c.head_dim())
      throw Error("field 'head_dim' is " + std::to_string(hd) + ", not hidden_size / num_attention_heads (" +
                      std::to_string(c.head_dim()) + "); slm does not support that",
                  origin);
  }
  return c;
}

std::string ModelConfig::hf_field(const std::string& ours) { return hf_name(ours); }

namespace {
// One layer's parameters; an MoE layer counts `experts` of its routed experts.
int64_t layer_params(const ModelConfig& c, int l, int experts) {
  const int64_t C = c.dim, F = c.hidden_dim, KV = c.kv_dim();
  const int64_t attn = C + C * C + 2 * C * KV + C * C + C;
  if (!c.moe_layer(l)) return attn + 3 * C * F;
  const int64_t Fe = c.expert_dim();
  return attn + C * c.n_experts + 3 * C * Fe * (experts + c.n_shared_experts);
}
int64_t params_with(const ModelConfig& c, int experts) {
  const int64_t C = c.dim, V = c.vocab_size;
  int64_t n = V * C + C + (c.tie_embeddings ? 0 : V * C);
  for (int l = 0; l < c.n_layers; ++l) n += layer_params(c, l, experts);
  return n;
}
}  // namespace

std::string mixtral_incompatibility(const ModelConfig& c) {
  if (!c.is_moe()) return "";
  if (c.moe_every != 1) return "model.moe_every is " + std::to_string(c.moe_every) + "; it needs 1 (every layer MoE)";
  if (c.n_shared_experts != 0) return "model.n_shared_experts is " + std::to_string(c.n_shared_experts) + "; it needs 0";
  if (c.router != "topk_softmax") return "model.router is \"" + c.router + "\"; it needs \"topk_softmax\"";
  return "";
}

int64_t count_params(const ModelConfig& c) { return params_with(c, c.n_experts); }
int64_t count_active_params(const ModelConfig& c) { return params_with(c, c.experts_per_token); }

namespace {

// The weights a token multiplies by: the embedding lookup is no matrix product; with tied
// weights the same matrix is the output layer, which is.
double matmul_params(const ModelConfig& c) {
  return double(count_active_params(c)) - (c.tie_embeddings ? 0.0 : double(c.vocab_size) * c.dim);
}

// Attention's own products (scores and their mix of values), forward and backward.
double attention_flops(const ModelConfig& c) { return 12.0 * c.n_layers * c.dim * c.context; }

}  // namespace

double flops_per_token(const ModelConfig& c) { return 6.0 * matmul_params(c) + attention_flops(c); }

double flops_per_token_frozen(const ModelConfig& c, int64_t adapter_params) {
  return 4.0 * matmul_params(c) + 6.0 * double(adapter_params) + attention_flops(c);
}

}  // namespace slm::model
