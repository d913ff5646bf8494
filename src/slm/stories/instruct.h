#pragma once
// Instruction data from the story world, in Stanford Alpaca's format. Alpaca asks a
// strong model (text-davinci-003) to write (instruction, input, output) triples; here
// the story generator is the teacher: each task is made from a story whose plan is
// known, so every answer is right by construction. Near-identical instructions are
// dropped as Alpaca does (ROUGE-L above 0.7 to one already kept), and the held-out split
// is drawn by story, so no story is shared between training and evaluation.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "slm/stories/story.h"

namespace slm::stories {

// What an evaluation checks an answer against, and how.
struct InstructRecord {
  std::string instruction, input, output;
  std::string task;                   // write_words, summarize, main_character, ...
  std::string answer;                 // question tasks: the short answer the output must hold
  std::vector<std::string> words;     // writing tasks: the words the story must use
  std::vector<std::string> features;  // writing tasks: the features it must show
  uint64_t story = 0;                 // the story it was made from
};

// The task types, and how each is scored: "write" (required words and features),
// "question" (exact match and contains-answer), "rouge" (ROUGE-L to the reference).
struct TaskInfo {
  const char* name;
  const char* kind;
  double weight;  // how often it is drawn where it applies
};
const std::vector<TaskInfo>& instruct_tasks();
const TaskInfo* find_task(const std::string& name);  // nullptr if unknown

struct InstructOptions {
  uint64_t seed = 1;
  int64_t stories = 1000;
  int tasks_per_story = 2;
  double heldout_fraction = 0.05;  // of the stories
  double rouge_threshold = 0.7;
};

struct InstructSet {
  std::vector<InstructRecord> train, heldout;
  int64_t dropped_similar = 0;  // dropped by the ROUGE-L filter
};

InstructSet make_instruct_set(const StoryGenerator& gen, const InstructOptions& opt);

// A writing request for `story` (generated from seed and index): write_words, or
// write_features when the story has features and the draw (a hash of seed and index)
// says so; its output is the story. `slm data stories --requests` puts these in a
// pre-training corpus.
InstructRecord writing_request(const StoryGenerator& gen, Story story, uint64_t seed, uint64_t index);

// Writes out_dir/train.jsonl and out_dir/heldout.jsonl (the folder appears whole or not
// at all). Returns the records per task: (train, held out).
std::map<std::string, std::pair<int64_t, int64_t>> write_instruct_set(const InstructSet& set,
                                                                      const std::string& out_dir);

// One JSON line: Alpaca's three fields first, then task, answer, words, features, story.
std::string instruct_jsonl(const InstructRecord& r);
// Reads one line written by instruct_jsonl (the extra fields are optional, so a plain
// Alpaca record reads too). Throws slm::Error naming `where` and the field.
InstructRecord instruct_from_json_line(const std::string& line, const std::string& where);

}  // namespace slm::stories
