#pragma once
// Text generation: the prompt in one batched pass, then one sampled token at a time
// (KV-cached), until <|endoftext|>, the token limit, or the end of the context.
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

struct GenerateResult {
  std::string text;  // the generated text, without the prompt
  int prompt_tokens = 0, generated_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
  bool context_full = false;  // stopped because the model's context was full
};

// on_text receives each piece as it is made (for streaming), if set. Throws slm::Error
// when the prompt alone does not fit the context.
GenerateResult generate(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text = {});

}  // namespace slm::infer
