#include "slm/data/sft_records.h"

#include <nlohmann/json.hpp>

#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"

namespace slm::data {

using nlohmann::json;

Conversation alpaca_conversation(const std::string& instruction, const std::string& input, const std::string& output) {
  Conversation c;
  c.segments.push_back({tokenizer::alpaca_prompt(instruction, input), false});
  c.segments.push_back({output, true});
  return c;
}

namespace {

std::string string_field(const json& j, const char* key, bool required, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) throw Error(std::string("missing field '") + key + "'", where);
    return "";
  }
  if (!j[key].is_string()) throw Error(std::string("field '") + key + "' must be a string", where);
  return j[key].get<std::string>();
}

// A chat: an optional system message, then user and assistant turns in turn. Each user
// turn becomes an Alpaca prompt (the system message leads the first one), each reply a
// response; replies are joined to the next prompt by a blank line, as slm chat does.
Conversation chat_conversation(const json& msgs, const std::string& where) {
  if (!msgs.is_array() || msgs.empty()) throw Error("'messages' must be a non-empty array", where);
  Conversation c;
  std::string system;
  size_t i = 0;
  auto content = [&](size_t k) {
    const json& m = msgs[k];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw Error("messages[" + std::to_string(k) + "] needs a string 'role'", where);
    return string_field(m, "content", true, where + " messages[" + std::to_string(k) + "]");
  };
  if (msgs[0].is_object() && msgs[0].contains("role") && msgs[0]["role"] == "system") system = content(i++);
  bool first = true;
  for (; i < msgs.size(); i += 2) {
    std::string user = content(i);
    if (msgs[i]["role"] != "user")
      throw Error("messages[" + std::to_string(i) + "] should be a 'user' turn, found '" +
                      msgs[i]["role"].get<std::string>() + "'",
                  where);
    if (i + 1 >= msgs.size())
      throw Error("the chat ends with a user turn: there is no assistant reply to train on", where);
    std::string reply = content(i + 1);
    if (msgs[i + 1]["role"] != "assistant")
      throw Error("messages[" + std::to_string(i + 1) + "] should be an 'assistant' turn, found '" +
                      msgs[i + 1]["role"].get<std::string>() + "'",
                  where);
    if (first && !system.empty()) user = system + "\n\n" + user;
    std::string prompt = (first ? "" : std::string(tokenizer::kTurnSeparator)) + tokenizer::alpaca_prompt(user);
    c.segments.push_back({prompt, false});
    c.segments.push_back({reply, true});
    first = false;
  }
  return c;
}

Conversation record_conversation(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error("expected a JSON object", where);
  Conversation c;
  if (j.contains("messages")) {
    c = chat_conversation(j["messages"], where);
  } else {
    c = alpaca_conversation(string_field(j, "instruction", true, where), string_field(j, "input", false, where),
                            string_field(j, "output", true, where));
    if (c.segments[1].text.empty()) throw Error("empty 'output': nothing to train on", where);
    if (j.contains("words") && !j["words"].is_null()) {  // slm data instruct's required words
      if (!j["words"].is_array()) throw Error("field 'words' must be an array of strings", where);
      for (const auto& w : j["words"]) {
        if (!w.is_string()) throw Error("field 'words' must be an array of strings", where);
        c.words.push_back(w.get<std::string>());
      }
    }
  }
  c.where = where;
  return c;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<Conversation> read_sft_file(const std::string& path) {
  std::string text = read_file(path);
  std::vector<Conversation> out;
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson")) {
    for_each_jsonl_text(text, path, [&](const json& j, const std::string& where) {
      out.push_back(record_conversation(j, where));
    });
  } else if (ends_with(path, ".json")) {
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers such as 1e999
      throw Error(std::string("malformed JSON: ") + e.what(), path);
    }
    if (!j.is_array()) throw Error("expected a JSON array of records (Alpaca's format)", path);
    for (size_t i = 0; i < j.size(); ++i) out.push_back(record_conversation(j[i], path + "[" + std::to_string(i) + "]"));
  } else {
    throw Error("unknown format: expected .json (an Alpaca array) or .jsonl (Alpaca or chat records)", path);
  }
  if (out.empty()) throw Error("no records in the file", path);
  return out;
}

}  // namespace slm::data
