#pragma once
// All parameters in one allocation, with a table of named tensors (llm.c's layout, with
// Hugging Face Llama's names). Gradients and optimizer moments use the same layout.
#include <cstdint>
#include <string>
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

struct ParamLayout {
  std::vector<TensorInfo> tensors;
  int embed = -1, final_norm = -1, lm_head = -1;  // lm_head -1 when tied to embed
  std::vector<LayerIndex> layers;
  int64_t total = 0;

  explicit ParamLayout(const ModelConfig& c);
  int find(const std::string& name) const;  // -1 when absent
  // The output projection: lm_head, or the embedding when the two are tied.
  int output_head() const { return lm_head >= 0 ? lm_head : embed; }
};

}  // namespace slm::model
