#pragma once
// Self-instruct as Stanford Alpaca ran it (generate_instruction.py; Wang et al. 2022): each
// request samples a few seed tasks into a prompt that asks a teacher for a numbered list of
// new tasks (instruction, input, output); the reply is parsed, each new task filtered
// (length limits, banned words, a bad start, an invalid record, ROUGE-L > 0.7 to any task
// kept so far, seeds included), and requests go on until N tasks are kept. The prompt is
// Alpaca's, reworded for the story world: tasks about simple stories for young children.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "slm/eval/chat_client.h"

namespace slm::distill {

struct SelfInstructTask {
  std::string instruction, input, output;
};

// Seed tasks in Alpaca's seed_tasks.jsonl format: {"instruction", "instances": [{"input",
// "output"}], ...} a line (the first instance is used). Errors name the file and line.
std::vector<SelfInstructTask> read_seed_tasks(const std::string& path);

// The request prompt for these example tasks; the teacher continues the numbered list
// from number examples.size() + 1.
std::string self_instruct_prompt(const std::vector<SelfInstructTask>& examples);

// The tasks of a reply (numbered "N. Instruction:", "N. Input:", "N. Output:" blocks
// separated by ###), numbering from first_number. A block that does not parse is counted
// in `invalid` and skipped. The input "<noinput>" becomes empty.
std::vector<SelfInstructTask> parse_self_instruct_reply(const std::string& reply, int first_number, int64_t& invalid);

// Why a task is dropped before the similarity check ("" when it passes): an instruction of
// 3 words or fewer or over 150, a banned word (image, graph, file, ... as Alpaca bans what a
// language model cannot do), "Write a program", a start that is not a letter, an empty output.
std::string self_instruct_filter(const SelfInstructTask& t);

struct SelfInstructOptions {
  eval::ChatClientOptions endpoint;
  std::string seed_tasks;     // a seed_tasks.jsonl
  int64_t count = 100;        // new tasks to keep
  int examples_per_prompt = 3;
  double temperature = 1.0;   // Alpaca's
  int max_tokens = 3072;
  double rouge_threshold = 0.7;
  int max_rounds = 0;         // rounds of `concurrency` requests at most (0: 10 + count / 2)
  uint64_t seed = 1;
  bool quiet = false;
  std::string out;            // Alpaca JSON (an array of {instruction, input, output}), written atomically
};

struct SelfInstructStats {
  int64_t requests = 0, failed_requests = 0, candidates = 0, kept = 0;
  std::map<std::string, int64_t> dropped;  // by reason: "invalid", "similar", and the filter's
};

SelfInstructStats self_instruct(const SelfInstructOptions& opt);

}  // namespace slm::distill
