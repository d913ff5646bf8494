#pragma once
// A corpus record as slm keeps it after import: either text (a story or any document,
// with TinyStories' metadata when the source had it) or an Alpaca-style instruction.
// Stored one JSON object a line: {"text": ...} or {"instruction", "input", "output"}.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace slm::data {

struct Record {
  enum Kind { Text, Instruction } kind = Text;
  std::string text;                              // Text
  std::string summary;                           // Text, optional (TinyStories)
  std::vector<std::string> words, features;      // Text, optional (TinyStories)
  std::string instruction, input, output;        // Instruction

  // The content that de-duplication and the train/validation split look at.
  std::string key() const;
};

// A record from a JSON object of any supported source: {"text"}, TinyStories' {"story",
// "instruction": {"words", "features"}, "summary"}, Alpaca's {"instruction", "input",
// "output"}. Throws slm::Error naming the missing or mistyped field (where: the location).
Record record_from_json(const nlohmann::json& obj, const std::string& where);

// NFC, whitespace cleanup of every field. False when the record is empty after cleanup
// (no text, or an instruction without instruction or output).
bool normalize(Record& r);

// Appends the record as one JSON line.
void append_jsonl(const Record& r, std::string& out);

}  // namespace slm::data
