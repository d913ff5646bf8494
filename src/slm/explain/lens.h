#pragma once
// The logit lens (nostalgebraist 2020): read the residual stream after each layer through
// the model's own final norm and output head, as if the model stopped there: which tokens
// it would predict at each layer, and how early the final answer appears.
#include <cstdint>
#include <vector>

#include "slm/model/transformer.h"

namespace slm::explain {

struct LensResult {
  std::vector<int32_t> tokens;
  // [row][position][k], best first; row 0 the embeddings, row l+1 layer l's output (the
  // last row is the model's own prediction).
  std::vector<std::vector<std::vector<int32_t>>> top_ids;
  std::vector<std::vector<std::vector<double>>> top_probs;
  int32_t answer = -1;                // the token followed at the last position (-1: none)
  std::vector<double> answer_probs;   // [row]: its probability there
};

LensResult logit_lens(model::Transformer<float>& m, const std::vector<int32_t>& tokens, int top, int32_t answer = -1);

// Attention probabilities of every layer for a prompt: [layer] -> [heads, Tn, Tn], row =
// query position, column = key position (columns after the row are 0).
std::vector<std::vector<float>> attention_maps(model::Transformer<float>& m, const std::vector<int32_t>& tokens);

}  // namespace slm::explain
