#pragma once
// Shared spellings (train.share_space_embeddings): the embedding row of a token " w" (a
// word after a space, one token) is trained as its own row plus the row of "w" (the same
// bytes alone, as after a quote), so whatever the model learns about one spelling moves
// the other too, and a model that copies "w" from a quoted request also raises " w".
//
// The model keeps ordinary weights W; the optimizer steps the parameters R of
//   W[" w"] = R[" w"] + R["w"],   W[t] = R[t] for every other token,
// i.e. W = M R with M = I + P, P mapping each spaced token to its body. A body never
// starts with a space, so P² = 0 and M⁻¹ = I − P: R is recovered from W exactly (up to
// rounding), and no file has to change: checkpoints, exports and every reader see W.
// The AdamW moments are those of R. The same applies to an untied output head's rows.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "slm/model/params.h"

namespace slm::tokenizer {
class Tokenizer;
}

namespace slm::train {

// Refuses train.share_space_embeddings when adapters (LoRA) train in place of the model:
// they leave the embedding frozen, so there would be nothing to share.
void refuse_space_sharing_with_adapters(bool share_space_embeddings, bool adapters);

class SpaceSharing {
 public:
  // The pairs (spaced token, body token) of a vocabulary, for a model of this layout
  // (ids the model does not have are left out).
  SpaceSharing(const tokenizer::Tokenizer& tok, const model::ParamLayout& layout);

  // W -> R (before the optimizer step) and R -> W (after it), in place on the model's
  // flat parameter vector.
  void to_shared(float* params) const;
  void to_model(float* params) const;
  // dL/dW -> dL/dR = Mᵀ dL/dW: each spaced row's gradient is added to its body's row.
  void grads_to_shared(float* grads) const;

  size_t pairs() const { return pairs_.size(); }
  const std::vector<std::pair<int32_t, int32_t>>& pair_ids() const { return pairs_; }

 private:
  // f(a value of a spaced token's row, the same column of its body's row), for every pair
  // in the embedding and an untied head.
  template <class F>
  void each_pair(float* x, F f) const;

  std::vector<std::pair<int32_t, int32_t>> pairs_;  // (spaced, body)
  std::vector<int64_t> offsets_;                    // the embedding's, and an untied head's
  int64_t dim_ = 0;                                 // the embedding's width
};

}  // namespace slm::train
