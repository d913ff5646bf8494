#pragma once
// The inference engine: the model's forward pass position by position with a KV cache,
// as llama2.c's run.c reads, for several sequences at once. Each call feeds rows (a
// token, its sequence, its position): a prompt is many rows of one sequence (one batched
// pass of matrix products); a decoding step is one row for each live sequence, so the
// weights are read once for all of them. Each row attends over its own sequence's cached
// keys and values up to its position.
#include <cstdint>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/tensor/q8.h"

namespace slm::infer {

class Engine {
 public:
  struct Row {
    uint32_t token;
    int seq;  // which sequence (cache) the row belongs to
    int pos;  // its position in that sequence
  };

  // The engine reads the model's weights (it must outlive the engine). With q8, the
  // matrices are quantised to int8 blocks (tensor/q8.h) once, here.
  explicit Engine(const model::Transformer<float>& m, int sequences = 1, bool q8 = false);
  int context() const { return cfg_.context; }
  int sequences() const { return seqs_; }

  // Runs the rows through the model and returns their logits, [rows][vocab]. Rows of one
  // sequence must come in position order, each sequence's positions without gaps (a row
  // at position p needs positions 0..p-1 fed before it or earlier in the same call).
  // Throws slm::Error for a position past the context or an unknown token.
  const float* feed(const std::vector<Row>& rows);

  // One sequence's tokens from position pos on (a prompt); returns the last row's logits.
  const float* feed(const uint32_t* tokens, int n, int pos = 0, int seq = 0);

 private:
  const model::Transformer<float>& m_;
  const model::ModelConfig& cfg_;
  int seqs_;
  bool q8_;
  std::vector<tensor::Q8Matrix> q8w_;      // by parameter index, when q8 (empty matrices elsewhere)
  void linear(float* y, const float* x, int param, int n, int in, int out);
  std::vector<float> k_cache_, v_cache_;  // [seq][layer][position][kv_dim]
  std::vector<float> x_, xn_, q_, k_, v_, a_, o_, g_, u_, rstd_, logits_;
  std::vector<Row> rows_;
};

}  // namespace slm::infer
