#pragma once
// Prompts from a JSONL file ({"prompt": ...} per line), decoded together, and their
// completions written back as JSONL: slm generate --input FILE --output FILE.
#include <string>
#include <vector>

#include "slm/infer/generate.h"

namespace slm::infer {

// The prompts of a JSONL file; throws slm::Error naming the line of a record without a
// string field "prompt".
std::vector<std::string> read_prompts(const std::string& path);

// Writes {prompt, completion, tokens, finish} per line, atomically.
void write_completions(const std::string& path, const std::vector<std::string>& prompts,
                       const std::vector<GenerateResult>& results);

// Reads in_path, wraps each prompt in Alpaca's template when `alpaca` (an instruction-tuned
// model), decodes them all together and writes out_path. Nothing is written on error.
std::vector<GenerateResult> generate_prompt_file(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                                 const std::string& in_path, const std::string& out_path,
                                                 const GenerateOptions& opt, bool alpaca);

}  // namespace slm::infer
