#pragma once
// Choosing the next token from logits. In order: the repetition penalty (tokens already
// in the text get less likely, as in CTRL and Hugging Face), temperature, then the
// candidate filters top-k, top-p (nucleus) and min-p (tokens at least min_p times as
// likely as the best). Temperature 0 is greedy: the most likely token, nothing drawn.
#include <cstdint>
#include <vector>

#include "slm/util/rng.h"

namespace slm::infer {

struct SamplingOptions {
  float temperature = 0.8f;
  int top_k = 0;                    // 0: all tokens
  float top_p = 1.0f;               // 1: all tokens
  float min_p = 0.0f;               // 0: all tokens
  float repetition_penalty = 1.0f;  // 1: none; > 1 discourages repeating
};

// recent: the tokens the repetition penalty applies to (the text so far).
uint32_t sample_token(const float* logits, int vocab, const SamplingOptions& opt, Rng& rng,
                      const std::vector<uint32_t>& recent = {});

}  // namespace slm::infer
