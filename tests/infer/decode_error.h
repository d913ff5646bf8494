#pragma once
// How far the KV-cache engine's logits stray from the training forward pass on the same
// tokens: the prompt toks[0, prompt) in one call, then one token a call.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "slm/infer/engine.h"

namespace slm::test {

// The largest |engine − forward| over the prompt's last position and every decoded one,
// relative to that position's largest |logit| (at least 1). The model gets init_weights(seed)
// scaled by weight_scale (larger logits make every path of the engine matter).
inline double decode_error(const model::ModelConfig& c, bool q8, const std::vector<uint32_t>& toks, int prompt,
                           uint64_t seed, float weight_scale) {
  model::Transformer<float> m(c);
  m.init_weights(seed);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= weight_scale;
  std::vector<int32_t> as_int(toks.begin(), toks.end());
  m.forward(as_int.data(), 1, int(toks.size()));
  const size_t V = size_t(c.vocab_size);
  std::vector<float> full(m.logits(), m.logits() + toks.size() * V);
  infer::Engine e(m, 1, q8);
  double worst = 0;
  auto compare = [&](const float* l, size_t t) {
    double scale = 1;
    for (size_t j = 0; j < V; ++j) scale = std::max(scale, double(std::abs(full[t * V + j])));
    for (size_t j = 0; j < V; ++j) worst = std::max(worst, std::abs(l[j] - full[t * V + j]) / scale);
  };
  compare(e.feed(toks.data(), prompt), size_t(prompt) - 1);  // the prompt: many rows, GEMMs
  for (size_t t = size_t(prompt); t < toks.size(); ++t) compare(e.feed(&toks[t], 1, int(t)), t);  // one row a call
  return worst;
}

}  // namespace slm::test
