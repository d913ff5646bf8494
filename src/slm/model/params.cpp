#include "slm/model/params.h"

namespace slm::model {

ParamLayout::ParamLayout(const ModelConfig& c) {
  const int64_t C = c.dim, F = c.hidden_dim, V = c.vocab_size, KV = c.kv_dim();
  auto add = [&](std::string name, std::vector<int64_t> shape, bool decay) {
    TensorInfo t;
    t.name = std::move(name);
    t.shape = std::move(shape);
    t.size = 1;
    for (auto d : t.shape) t.size *= d;
    t.offset = total;
    t.decay = decay;
    total += t.size;
    tensors.push_back(std::move(t));
    return int(tensors.size() - 1);
  };
  embed = add("model.embed_tokens.weight", {V, C}, false);
  for (int l = 0; l < c.n_layers; ++l) {
    std::string p = "model.layers." + std::to_string(l) + ".";
    LayerIndex L;
    L.attn_norm = add(p + "input_layernorm.weight", {C}, false);
    L.wq = add(p + "self_attn.q_proj.weight", {C, C}, true);
    L.wk = add(p + "self_attn.k_proj.weight", {KV, C}, true);
    L.wv = add(p + "self_attn.v_proj.weight", {KV, C}, true);
    L.wo = add(p + "self_attn.o_proj.weight", {C, C}, true);
    L.mlp_norm = add(p + "post_attention_layernorm.weight", {C}, false);
    L.w_gate = add(p + "mlp.gate_proj.weight", {F, C}, true);
    L.w_up = add(p + "mlp.up_proj.weight", {F, C}, true);
    L.w_down = add(p + "mlp.down_proj.weight", {C, F}, true);
    layers.push_back(L);
  }
  final_norm = add("model.norm.weight", {C}, false);
  if (!c.tie_embeddings) lm_head = add("lm_head.weight", {V, C}, true);
}

int ParamLayout::find(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return int(i);
  return -1;
}

}  // namespace slm::model
