#pragma once
// The inference engine: the model's forward pass one position after another, with a
// KV cache, as llama2.c's run.c reads. A prompt goes through in one batched pass (matrix
// products); each new token is then one pass of one row (matrix-vector products) that
// attends over the cached keys and values of every earlier position.
#include <cstdint>
#include <vector>

#include "slm/model/transformer.h"

namespace slm::infer {

class Engine {
 public:
  // The engine reads the model's weights (it must outlive the engine).
  explicit Engine(const model::Transformer<float>& m);
  void reset() { pos_ = 0; }
  int position() const { return pos_; }  // tokens in the cache
  int context() const { return cfg_.context; }
  // Runs n tokens at positions position()..position()+n-1 and returns the logits
  // [vocab] of the last one. Throws slm::Error when they do not fit the context.
  const float* feed(const uint32_t* tokens, int n);

 private:
  const model::Transformer<float>& m_;
  const model::ModelConfig& cfg_;
  int pos_ = 0;
  std::vector<float> k_cache_, v_cache_;  // [layer][position][kv_dim]
  std::vector<float> x_, xn_, q_, k_, v_, a_, o_, g_, u_, rstd_, logits_;
};

}  // namespace slm::infer
