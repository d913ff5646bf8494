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
  // matrices are quantised to int8 blocks (tensor/q8.h) once, here, and the KV cache holds
  // bf16 (as llama.cpp's holds f16 by default): half the bytes attention reads, a rounding
  // (2^-9 relative) far below the int8 weights' own; an fp32 engine keeps an fp32 cache.
  explicit Engine(const model::Transformer<float>& m, int sequences = 1, bool q8 = false);
  int context() const { return cfg_.context; }
  int sequences() const { return seqs_; }

  // Runs the rows through the model and returns their logits, [rows][vocab]. Rows of one
  // sequence must come in position order, each sequence's positions without gaps (a row
  // at position p needs positions 0..p-1 fed before it or earlier in the same call).
  // Throws slm::Error for a position past the context or an unknown token.
  const float* feed(const std::vector<Row>& rows);

  // One sequence's tokens from position pos on (a prompt); returns the last row's logits
  // (the only ones computed).
  const float* feed(const uint32_t* tokens, int n, int pos = 0, int seq = 0);

 private:
  // What a matrix product reads: x [n, in] in float, and in int8 blocks when q8 decodes.
  struct Input {
    const float* x;
    int n, in;
    const tensor::Q8Rows* q;  // null unless quantised
  };
  // Both feeds: the logits of every row, or of the last only (in logits_'s first row).
  const float* run(const std::vector<Row>& rows, bool all_logits);
  // The whole forward pass, run by every thread of one parallel region.
  void forward(const std::vector<Row>& rows, bool all_logits);
  // Makes x ready for the products that read it (q8 decoding quantises it, once, for all
  // threads, with a barrier after). x must be complete: call it after a barrier.
  Input input(const float* x, int n, int in, tensor::Q8Rows& q);
  // y[n, out] (+)= x · Wᵀ for parameter `param`: this thread's share of the outputs. No
  // barrier at the end: the caller puts one where the result is read.
  void linear(float* y, const Input& x, int param, int out, bool accumulate = false);
  // Attention of row i, query head h over its sequence's cache; s is scratch of context floats.
  void attend(float* out, const float* q, const Row& r, int layer, int h, float* s);
  // Where one key/value head's head_dim values at one position of a sequence sit in a cache.
  size_t cache_at(int seq, int layer, int kv_head, int pos) const;
  // Stores row i's keys and values (k_, v_) at its position, in the cache's type.
  void cache_store(int i, const Row& r, int layer);
  // A mixture-of-experts MLP (model/moe.h) for every row: the router in fp32, then each
  // expert's SwiGLU over the rows that chose it; adds into x_. Inference is dropless.
  void moe_mlp(int layer, const Input& xn);
  // Serial part of moe_mlp: top-k and gates of each row, rows grouped by expert (buffers
  // sized by run).
  void route(int n);

  const model::Transformer<float>& m_;
  const model::ModelConfig& cfg_;
  int seqs_;
  bool q8_;
  std::vector<tensor::Q8Matrix> q8w_;      // by parameter index, when q8 (empty matrices elsewhere)
  // [seq][layer][kv_head][position][head_dim]: a head's positions are one contiguous run,
  // so attention streams them (a [position][kv_dim] layout strides by kv_dim and costs
  // decoding at position 200 about an eighth of its time in cache misses).
  util::AlignedVector<float> k_cache_, v_cache_;      // fp32 engines
  util::AlignedVector<uint16_t> k_cache16_, v_cache16_;  // q8 engines: bf16
  std::vector<float> rope_cos_, rope_sin_;  // [position][head_dim / 2], computed once
  std::vector<float> x_, xn_, q_, k_, v_, a_, g_, u_, logits_;
  tensor::Q8Rows xq_, aq_, hq_;             // the quantised inputs of q8 decoding
  std::vector<float> scores_;               // attention scratch, [thread][context]
  std::vector<tensor::Q8GemmScratch> deq_;  // q8 prompts: dequantised weight slices, one per thread
  std::vector<Row> rows_;
  // Mixture of experts: router logits [n, E]; the routed rows grouped by expert (expert e's
  // rows offset_[e] .. offset_[e+1]) with their token and gate; their inputs, hidden
  // activations and outputs; the int8 inputs of each expert's rows.
  std::vector<float> router_, xg_, gg_, ug_, yg_, gate_;
  std::vector<int> offset_, row_token_, slot_row_;
  std::vector<int> choice_, order_, next_;  // route's scratch, kept between calls
  std::vector<tensor::Q8Rows> xgq_, hgq_;
};

}  // namespace slm::infer
