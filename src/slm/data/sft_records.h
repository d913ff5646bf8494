#pragma once
// Instruction-tuning records from the formats people have: Alpaca's JSON array (the 52K
// file), JSONL of Alpaca records (what `slm data instruct` writes), and JSONL chat
// records {"messages": [{"role": "system"|"user"|"assistant", "content": ...}]}. Each
// becomes a conversation of segments: prompt text (not trained on) and responses
// (trained on), laid out with Alpaca's template.
#include <string>
#include <vector>

namespace slm::data {

struct Segment {
  std::string text;
  bool response = false;  // trained on (the model's words); false: the prompt
};

struct Conversation {
  std::vector<Segment> segments;  // ends with a response; the end-of-text token follows it
  std::string where;              // "file:line" or "file[index]", for messages about it
  std::vector<std::string> words; // an Alpaca record's "words" (a writing request's required words), if any
};

// Reads every record of a .json (array) or .jsonl/.ndjson file. Throws slm::Error naming
// the record and field when one has no instruction or output, a chat with no assistant
// reply or roles out of order, or malformed JSON.
std::vector<Conversation> read_sft_file(const std::string& path);

// One Alpaca record as a conversation: the prompt, then the output.
Conversation alpaca_conversation(const std::string& instruction, const std::string& input, const std::string& output);

}  // namespace slm::data
