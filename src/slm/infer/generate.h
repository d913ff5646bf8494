#pragma once
// Text generation: the prompt's tokens, then one sampled token at a time until a stop
// token, the token limit or the context's end.
//
// This first version runs the whole window through the model for every new token (no KV
// cache yet): correct and simple, fast enough for the small models the quickstart trains;
// the KV-cached engine replaces it without changing this interface.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "slm/infer/sampler.h"
#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::infer {

struct GenerateOptions {
  int max_tokens = 200;
  SamplingOptions sampling;
  uint64_t seed = 1;
  bool stop_at_eot = true;
};

// Returns the generated text (without the prompt). on_text receives each piece as it is
// made (for streaming), if set.
std::string generate(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                     const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text = {});

}  // namespace slm::infer
