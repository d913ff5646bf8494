#pragma once
// Text generation: each prompt in one batched pass, then one sampled token at a time
// (KV-cached) until <|endoftext|>, a stop string, the token limit, or the end of the
// context. Several prompts decode together: one row per live sequence a step.
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
  uint64_t seed = 1;                // sequence i of a batch draws from seed + i
  bool stop_at_eot = true;
  std::vector<std::string> stop;    // stop before any of these strings
  bool q8 = false;                  // int8 weights (tensor/q8.h)
  // When the context is full: stop (false), or drop the oldest half of the text and go
  // on (true; the kept half is run through the model again at its new positions).
  bool context_shift = false;
  // Called before each draw with the sequence's index in the batch, the tokens it has
  // generated so far and a writable copy of its logits: a bias that depends on the text
  // written (align's word guide, rejection.h). Empty: the logits as the model gave them.
  std::function<void(size_t seq, const std::vector<uint32_t>& generated, float* logits)> bias;
};

struct GenerateResult {
  std::string text;  // the generated text, without the prompt (and without a stop string)
  int prompt_tokens = 0, generated_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
  std::string finish;  // "eot", "stop", "length" or "context"
  std::vector<uint32_t> tokens;  // the generated token ids, as drawn (the end-of-text token not included)
};

// One prompt; on_text receives text as it becomes final (for streaming), if set.
// Throws slm::Error when the prompt alone does not fit the context.
GenerateResult generate(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text = {});

// Several prompts decoded together.
std::vector<GenerateResult> generate_batch(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                           const std::vector<std::string>& prompts, const GenerateOptions& opt,
                                           const std::function<void(size_t, const std::string&)>& on_text = {});

}  // namespace slm::infer
