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
    MoeIndex M;
    if (c.moe_layer(l)) {
      const int64_t E = c.n_experts, Fe = c.expert_dim(), Fs = int64_t(c.n_shared_experts) * Fe;
      L.w_gate = L.w_up = L.w_down = -1;
      std::string m = p + "block_sparse_moe.";
      M.router = add(m + "gate.weight", {E, C}, true);
      for (int e = 0; e < c.n_experts; ++e) {
        std::string x = m + "experts." + std::to_string(e) + ".";
        M.w_gate.push_back(add(x + "w1.weight", {Fe, C}, true));
        M.w_down.push_back(add(x + "w2.weight", {C, Fe}, true));
        M.w_up.push_back(add(x + "w3.weight", {Fe, C}, true));
      }
      if (Fs > 0) {
        M.s_gate = add(m + "shared_experts.gate_proj.weight", {Fs, C}, true);
        M.s_up = add(m + "shared_experts.up_proj.weight", {Fs, C}, true);
        M.s_down = add(m + "shared_experts.down_proj.weight", {C, Fs}, true);
      }
    } else {
      L.w_gate = add(p + "mlp.gate_proj.weight", {F, C}, true);
      L.w_up = add(p + "mlp.up_proj.weight", {F, C}, true);
      L.w_down = add(p + "mlp.down_proj.weight", {C, F}, true);
    }
    layers.push_back(L);
    moe.push_back(std::move(M));
  }
  final_norm = add("model.norm.weight", {C}, false);
  if (!c.tie_embeddings) lm_head = add("lm_head.weight", {V, C}, true);
}

int ParamLayout::find(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].name == name) return int(i);
  return -1;
}

std::pair<int64_t, int64_t> ParamLayout::layer_range(int l) const {
  const auto begin = [&](int layer) {
    return layer < int(layers.size()) ? tensors[size_t(layers[size_t(layer)].attn_norm)].offset
                                      : tensors[size_t(final_norm)].offset;
  };
  return {begin(l), begin(l + 1)};
}

}  // namespace slm::model
