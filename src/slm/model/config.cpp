#include "slm/model/config.h"

#include <nlohmann/json.hpp>

#include "slm/util/error.h"

namespace slm::model {

using nlohmann::json;

void ModelConfig::validate(const std::string& origin) const {
  auto need = [&](bool ok, const char* field, const std::string& what) {
    if (!ok) throw Error(std::string(field) + " " + what, origin);
  };
  need(vocab_size >= 1, "vocab_size", "must be at least 1");
  need(dim >= 2, "dim", "must be at least 2");
  need(n_layers >= 1, "n_layers", "must be at least 1");
  need(n_heads >= 1 && dim % n_heads == 0, "n_heads", "must divide dim (" + std::to_string(dim) + ")");
  need(head_dim() % 2 == 0, "n_heads", "must leave an even head size for rotary embeddings");
  need(n_kv_heads >= 1 && n_heads % n_kv_heads == 0, "n_kv_heads", "must divide n_heads");
  need(hidden_dim >= 1, "hidden_dim", "must be at least 1");
  need(context >= 1, "context", "must be at least 1");
  need(norm_eps > 0, "norm_eps", "must be positive");
  need(rope_theta > 0, "rope_theta", "must be positive");
}

ModelConfig ModelConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("the model section must be a JSON object", origin);
  ModelConfig c;
  for (const auto& [k, v] : j.items()) {
    auto get_int = [&](int& dst) {
      if (!v.is_number_integer()) throw Error("field '" + k + "' must be an integer", origin);
      dst = v.get<int>();
    };
    auto get_float = [&](float& dst) {
      if (!v.is_number()) throw Error("field '" + k + "' must be a number", origin);
      dst = v.get<float>();
    };
    if (k == "vocab_size") get_int(c.vocab_size);
    else if (k == "dim") get_int(c.dim);
    else if (k == "n_layers") get_int(c.n_layers);
    else if (k == "n_heads") get_int(c.n_heads);
    else if (k == "n_kv_heads") get_int(c.n_kv_heads);
    else if (k == "hidden_dim") get_int(c.hidden_dim);
    else if (k == "context") get_int(c.context);
    else if (k == "norm_eps") get_float(c.norm_eps);
    else if (k == "rope_theta") get_float(c.rope_theta);
    else if (k == "tie_embeddings") {
      if (!v.is_boolean()) throw Error("field 'tie_embeddings' must be true or false", origin);
      c.tie_embeddings = v.get<bool>();
    } else {
      throw Error("unknown model field '" + k + "'", origin);
    }
  }
  return c;
}

json ModelConfig::to_json() const {
  return {{"vocab_size", vocab_size}, {"dim", dim},         {"n_layers", n_layers},   {"n_heads", n_heads},
          {"n_kv_heads", n_kv_heads}, {"hidden_dim", hidden_dim}, {"context", context}, {"norm_eps", norm_eps},
          {"rope_theta", rope_theta}, {"tie_embeddings", tie_embeddings}};
}

json ModelConfig::to_hf_config() const {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", vocab_size},
          {"hidden_size", dim},
          {"intermediate_size", hidden_dim},
          {"num_hidden_layers", n_layers},
          {"num_attention_heads", n_heads},
          {"num_key_value_heads", n_kv_heads},
          {"head_dim", head_dim()},
          {"max_position_embeddings", context},
          {"rms_norm_eps", norm_eps},
          {"rope_theta", rope_theta},
          {"tie_word_embeddings", tie_embeddings},
          {"hidden_act", "silu"},
          {"attention_bias", false},
          {"mlp_bias", false},
          {"torch_dtype", "float32"},
          {"initializer_range", 0.02}};
}

ModelConfig ModelConfig::from_hf_config(const json& j, const std::string& origin) {
  auto need = [&](const char* f) -> const json& {
    if (!j.contains(f) || !j[f].is_number()) throw Error(std::string("missing or non-numeric field '") + f + "'", origin);
    return j[f];
  };
  if (j.value("model_type", "llama") != "llama")
    throw Error("model_type is '" + j.value("model_type", "") + "'; only llama is supported", origin);
  ModelConfig c;
  c.vocab_size = need("vocab_size").get<int>();
  c.dim = need("hidden_size").get<int>();
  c.hidden_dim = need("intermediate_size").get<int>();
  c.n_layers = need("num_hidden_layers").get<int>();
  c.n_heads = need("num_attention_heads").get<int>();
  c.n_kv_heads = j.contains("num_key_value_heads") ? j["num_key_value_heads"].get<int>() : c.n_heads;
  c.context = need("max_position_embeddings").get<int>();
  c.norm_eps = j.value("rms_norm_eps", 1e-5f);
  c.rope_theta = j.value("rope_theta", 10000.f);
  c.tie_embeddings = j.value("tie_word_embeddings", false);
  if (j.contains("head_dim") && j["head_dim"].is_number() && j["head_dim"].get<int>() != c.head_dim())
    throw Error("head_dim differs from hidden_size / num_attention_heads; not supported", origin);
  c.validate(origin);
  return c;
}

int64_t count_params(const ModelConfig& c) {
  int64_t C = c.dim, F = c.hidden_dim, V = c.vocab_size, KV = c.kv_dim();
  int64_t layer = C + C * C + 2 * C * KV + C * C + C + 3 * C * F;
  return V * C + c.n_layers * layer + C + (c.tie_embeddings ? 0 : V * C);
}

double flops_per_token(const ModelConfig& c) {
  // The embedding lookup is no matrix product; with tied weights the same matrix is the
  // output layer, which is.
  double n_matmul = double(count_params(c)) - (c.tie_embeddings ? 0.0 : double(c.vocab_size) * c.dim);
  return 6.0 * n_matmul + 12.0 * c.n_layers * c.dim * c.context;
}

}  // namespace slm::model
