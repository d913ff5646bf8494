#pragma once
// Sequence-level distillation (`slm distill generate`; Kim & Rush 2016, and TinyStories
// itself, whose stories GPT-3.5/4 wrote): a teacher writes the data a student then trains
// on. The teacher is a local model (batched generation, infer/generate.h) or any
// OpenAI-compatible endpoint (eval/chat_client.h: concurrency, retries, a reply cache).
//
// Stories mode asks TinyStories' prompts, each drawn from the story world (a noun, a verb,
// an adjective and features); a local model that is not instruction-tuned continues each
// story's first sentence instead. Output: JSONL records {"text", "instruction": {"prompt",
// "words", "features"}, "source"}, which `slm data import` reads.
// Instructions mode answers Alpaca records (instruction, input); output: Alpaca JSONL
// {instruction, input, output} for `slm finetune`.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/eval/chat_client.h"

namespace slm::distill {

using EndpointOptions = eval::ChatClientOptions;

struct GenerateDataOptions {
  std::string teacher;        // a local model (folder or .gguf), or empty when endpoint.url is set
  EndpointOptions endpoint;
  std::string instructions;   // Alpaca .json/.jsonl to answer; empty: stories
  int64_t count = 100;        // stories to write; or records at most (0: all)
  int max_tokens = 400;
  double temperature = 0.8, top_p = 0.95;
  int batch = 16;             // sequences decoded together (local teacher)
  uint64_t seed = 1;
  int threads = 1;
  bool quiet = false;
  std::string out;            // .jsonl, written atomically
};

struct GenerateDataStats {
  int64_t written = 0, failed = 0, cached = 0;
  int64_t truncated = 0;  // stories cut at max_tokens (kept)
};

GenerateDataStats generate_data(const GenerateDataOptions& opt);

// Alpaca records to answer: a JSON array or JSONL of objects with a string "instruction"
// and optional "input" (any "output" is ignored). Errors name the file and record.
struct InstructionRecord {
  std::string instruction, input;
};
std::vector<InstructionRecord> read_instruction_records(const std::string& path);

// A reply as training text: trimmed; empty when there is nothing to keep.
std::string clean_reply(const std::string& reply);

}  // namespace slm::distill
