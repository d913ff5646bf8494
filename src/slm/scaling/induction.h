#pragma once
// Induction heads (Olsson et al. 2022, "In-context learning and induction heads"): on a
// sequence of random tokens repeated twice, a head that does prefix matching attends from
// each token of the second copy to the token that followed the same token in the first
// copy, which is what lets a model copy from its context. Its score is the mean attention
// on that position; a model's score is its best head's.
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "slm/model/transformer.h"

namespace slm::scaling {

// The prefix-matching score of one head's attention probabilities [T, T] (row = query)
// over a window made of a prefix of `offset` tokens, then random tokens r_0..r_{L-1}, then
// the same L tokens again: the mean, over the second copy's queries at offset+L+i
// (i = 0..L-2), of the attention on key offset+i+1.
double prefix_matching_score(const float* probs, int T, int offset, int L);

struct InductionScore {
  double best = 0;         // the best head's score
  int layer = -1, head = -1;
  std::vector<std::vector<double>> per_head;  // [layer][head]
};

// Runs `windows` windows of one start token (the end-of-text token, as a document starts)
// and 2L random token ids drawn from [0, vocab_limit) (seeded) through the model, and
// scores every head. L is capped so the window fits the context.
InductionScore induction_score(model::Transformer<float>& m, int L, int windows, int start_token, int vocab_limit,
                               uint64_t seed);

// induction_score as a record {"score", "layer", "head", "per_head"}: the random tokens
// avoid the special ids at the top of the vocabulary (from eot on); windows start with eot.
nlohmann::json induction_record(model::Transformer<float>& m, int L, int windows, int eot, uint64_t seed);

}  // namespace slm::scaling
