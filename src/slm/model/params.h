#pragma once
// All parameters in one allocation, with a table of named tensors (llm.c's layout, with
// Hugging Face Llama's names). Gradients and optimizer moments use the same layout.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "slm/model/config.h"

namespace slm::model {

struct TensorInfo {
  std::string name;            // "model.layers.0.self_attn.q_proj.weight"
  std::vector<int64_t> shape;  // [out, in] for linear layers
  int64_t offset = 0, size = 0;
  bool decay = false;          // AdamW weight decay applies (matrices, not norms or embeddings)
};

struct LayerIndex {  // indices into ParamLayout::tensors
  int attn_norm, wq, wk, wv, wo, mlp_norm, w_gate, w_up, w_down;
};

// An MoE layer's tensors (Mixtral's names): the router [E, C], each expert's SwiGLU
// (w1 = gate [Fe, C], w3 = up [Fe, C], w2 = down [C, Fe]) and the shared experts as one
// SwiGLU of width n_shared · Fe. router -1: the layer is dense (LayerIndex's w_gate...).
struct MoeIndex {
  int router = -1;
  std::vector<int> w_gate, w_up, w_down;     // one an expert
  int s_gate = -1, s_up = -1, s_down = -1;  // shared experts, -1 when none
};

struct ParamLayout {
  std::vector<TensorInfo> tensors;
  int embed = -1, final_norm = -1, lm_head = -1;  // lm_head -1 when tied to embed
  std::vector<LayerIndex> layers;  // w_gate, w_up, w_down are -1 in an MoE layer
  std::vector<MoeIndex> moe;       // one a layer
  int64_t total = 0;

  explicit ParamLayout(const ModelConfig& c);
  int find(const std::string& name) const;  // -1 when absent
  // The output projection: lm_head, or the embedding when the two are tied.
  int output_head() const { return lm_head >= 0 ? lm_head : embed; }
  // Layer l's parameters (norms, attention, MLP or experts): one contiguous range
  // [first, second) of the flat vector, since each layer's tensors are added together.
  std::pair<int64_t, int64_t> layer_range(int l) const;
};

}  // namespace slm::model
