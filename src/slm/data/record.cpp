#include "slm/data/record.h"

#include <nlohmann/json.hpp>

#include "slm/util/error.h"
#include "slm/util/text.h"

namespace slm::data {

namespace {

std::string get_string(const nlohmann::json& obj, const char* field, const std::string& where, bool required) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    if (required) throw Error(std::string("missing field '") + field + "'", where);
    return {};
  }
  if (!it->is_string()) throw Error(std::string("field '") + field + "' is not a string", where);
  return it->get<std::string>();
}

std::vector<std::string> get_strings(const nlohmann::json& obj, const char* field, const std::string& where) {
  std::vector<std::string> out;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) throw Error(std::string("field '") + field + "' is not a list", where);
  for (const auto& x : *it) {
    if (!x.is_string()) throw Error(std::string("field '") + field + "' holds a non-string", where);
    out.push_back(x.get<std::string>());
  }
  return out;
}

void clean(std::string& s) { s = clean_whitespace(nfc(s)); }

}  // namespace

std::string Record::key() const {
  if (kind == Text) return text;
  return instruction + '\x1f' + input + '\x1f' + output;
}

Record record_from_json(const nlohmann::json& obj, const std::string& where) {
  if (!obj.is_object()) throw Error("expected a JSON object", where);
  Record r;
  if (obj.contains("story")) {  // TinyStories
    r.text = get_string(obj, "story", where, true);
    r.summary = get_string(obj, "summary", where, false);
    auto ins = obj.find("instruction");
    if (ins != obj.end() && ins->is_object()) {
      r.words = get_strings(*ins, "words", where);
      r.features = get_strings(*ins, "features", where);
    }
  } else if (obj.contains("instruction") || obj.contains("output")) {  // Alpaca
    r.kind = Record::Instruction;
    r.instruction = get_string(obj, "instruction", where, true);
    r.input = get_string(obj, "input", where, false);
    r.output = get_string(obj, "output", where, true);
  } else if (obj.contains("text")) {
    r.text = get_string(obj, "text", where, true);
  } else {
    throw Error("missing field: expected 'text', 'story' (TinyStories) or 'instruction' and 'output' (Alpaca)", where);
  }
  return r;
}

bool normalize(Record& r) {
  if (r.kind == Record::Text) {
    clean(r.text);
    clean(r.summary);
    for (auto& w : r.words) clean(w);
    for (auto& f : r.features) clean(f);
    return !r.text.empty();
  }
  clean(r.instruction);
  clean(r.input);
  clean(r.output);
  return !r.instruction.empty() && !r.output.empty();
}

void append_jsonl(const Record& r, std::string& out) {
  auto field = [&](const char* name, const std::string& v, bool first = false) {
    out += first ? "{\"" : ",\"";
    out += name;
    out += "\":";
    append_json_string(out, v);
  };
  auto list = [&](const char* name, const std::vector<std::string>& v) {
    out += ",\"";
    out += name;
    out += "\":[";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ',';
      append_json_string(out, v[i]);
    }
    out += ']';
  };
  if (r.kind == Record::Text) {
    field("text", r.text, true);
    if (!r.summary.empty()) field("summary", r.summary);
    if (!r.words.empty()) list("words", r.words);
    if (!r.features.empty()) list("features", r.features);
  } else {
    field("instruction", r.instruction, true);
    field("input", r.input);
    field("output", r.output);
  }
  out += "}\n";
}

}  // namespace slm::data
