#pragma once
// JSON Lines: one JSON value a line. One reader for every JSONL file slm takes (prompts,
// shots, instruction records, judge caches, metrics), so each says the same thing about a
// bad line: the file, the line number and what was expected.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace slm {

// Calls fn(record, where) for each non-blank line of path, where = "path:line". A line
// that is not JSON, or not an object when objects_only, throws slm::Error naming it.
// Returns the number of records read.
size_t for_each_jsonl(const std::string& path,
                      const std::function<void(const nlohmann::json& record, const std::string& where)>& fn,
                      bool objects_only = true);

// The same over text already in memory; name is used for the error locations.
size_t for_each_jsonl_text(const std::string& text, const std::string& name,
                           const std::function<void(const nlohmann::json& record, const std::string& where)>& fn,
                           bool objects_only = true);

// A JSON value as an error message shows it: scalars as written (cut at 40 characters),
// lists and objects by kind only (dump() recurses: a value nested 20,000 deep would
// overflow the stack just to write the message).
std::string shown_json(const nlohmann::json& v);

// A string field of a record, or slm::Error "field 'key' must be a string (where)".
std::string string_field(const nlohmann::json& record, const char* key, const std::string& where);

}  // namespace slm
