#pragma once
// Prompt templates: Stanford Alpaca's instruction template (byte for byte), a chat
// history built from it, and the few-shot prompt of GPT-3 (K worked examples, then the
// query; no weight changes).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "slm/tokenizer/chat_template.h"

namespace slm::infer {

// Alpaca's template lives with the data (fine-tuning builds its examples from it too).
using tokenizer::alpaca_prompt;
using tokenizer::chat_prompt;
using tokenizer::kChatStop;

struct Shot {
  std::string input, output;
};

// Reads shots from JSONL records {"input": ..., "output": ...}; throws slm::Error naming
// the line of a bad record.
std::vector<Shot> read_shots(const std::string& path);

// The few-shot prompt: an optional instruction line, then K examples drawn at random
// (without replacement, from the seed) and the query, each as
//
//   Input: <input>
//   Output: <output>
//
// separated by blank lines, ending with "Input: <query>\nOutput:". The completion is
// read up to the next blank line (kFewShotStop).
std::string few_shot_prompt(const std::vector<Shot>& shots, int k, const std::string& query, uint64_t seed,
                            const std::string& instruction = "");
constexpr const char* kFewShotStop = "\n\n";

}  // namespace slm::infer
