#pragma once
// Choosing the next token from logits: temperature, top-k, top-p; temperature 0 is
// greedy (the most likely token).
#include <cstdint>
#include <vector>

#include "slm/util/rng.h"

namespace slm::infer {

struct SamplingOptions {
  float temperature = 0.8f;
  int top_k = 0;       // 0: all tokens
  float top_p = 1.0f;  // 1: all tokens
};

uint32_t sample_token(const float* logits, int vocab, const SamplingOptions& opt, Rng& rng);

}  // namespace slm::infer
