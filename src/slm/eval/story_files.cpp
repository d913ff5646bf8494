#include "slm/eval/story_files.h"

#include <set>
#include <string_view>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"
#include "slm/util/jsonl.h"

namespace slm::eval {

using nlohmann::json;

namespace {

constexpr std::string_view kEndOfText = "<|endoftext|>";

std::string trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(a, b - a + 1));
}

// The pieces of text between separators, trimmed, empty ones dropped.
std::vector<std::string> split_trimmed(const std::string& text, std::string_view sep) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = std::min(text.find(sep, pos), text.size());
    std::string piece = trim(std::string_view(text).substr(pos, end - pos));
    if (!piece.empty()) out.push_back(std::move(piece));
    pos = end + sep.size();
  }
  return out;
}

// The first non-blank line, trimmed ("" when there is none).
std::string first_line(const std::string& text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos) return "";
  size_t end = text.find('\n', start);
  return trim(std::string_view(text).substr(start, end == std::string::npos ? std::string::npos : end - start));
}

// A JSONL record's story: its "text" field, else its "story" field.
std::string story_field(const json& j, const std::string& where, std::set<std::string>& fields) {
  const char* key = j.contains("text") ? "text" : j.contains("story") ? "story" : nullptr;
  if (!key) throw Error("expected a string field 'text' or 'story'", where);
  fields.insert(key);
  return string_field(j, key, where);
}

// "- text": the scalar after the dash, unquoted; line is the line as written.
std::string yaml_item(const std::string& line, const std::string& where) {
  if (line.rfind("- ", 0) != 0 && line != "-")
    throw Error("expected '- text' (the file is read as a YAML list of strings, one per line)", where);
  std::string v = trim(std::string_view(line).substr(1));
  if (v.empty()) throw Error("an empty item: write the story beginning after '- '", where);
  const char q = v[0];
  if (q == '"' || q == '\'') {
    std::string out;
    size_t i = 1;
    while (i < v.size() && !(v[i] == q && !(q == '\'' && i + 1 < v.size() && v[i + 1] == '\''))) {
      if (q == '"' && v[i] == '\\' && i + 1 < v.size()) {  // \n, \t, or the character itself
        char e = v[i + 1];
        out += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        i += 2;
      } else if (q == '\'' && v[i] == '\'') {  // '' inside single quotes
        out += '\'';
        i += 2;
      } else {
        out += v[i++];
      }
    }
    if (i >= v.size()) throw Error(fmt::format("the quote {} is not closed on this line", q), where);
    std::string rest = trim(std::string_view(v).substr(i + 1));
    if (!rest.empty() && rest[0] != '#') throw Error("text after the closing quote", where);
    return out;
  }
  if (std::string_view("[{&*!|>%@`").find(q) != std::string_view::npos)
    throw Error(fmt::format("'{}' starts YAML syntax this reader does not take: put the text in quotes", q), where);
  if (v.find(": ") != std::string::npos || v.back() == ':')
    throw Error("': ' would make this item a YAML map: put the text in quotes", where);
  size_t hash = v.find(" #");
  return hash == std::string::npos ? v : trim(std::string_view(v).substr(0, hash));
}

StoryPrompt prompt_from_json(const json& j, const std::string& where) {
  refuse_unknown_fields(j, {"prompt", "beginning", "words", "features"}, where);
  const char* key = j.contains("prompt") ? "prompt" : j.contains("beginning") ? "beginning" : nullptr;
  if (!key) throw Error("expected a string field 'prompt' or 'beginning'", where);
  StoryPrompt p;
  p.prompt = p.beginning = string_field(j, key, where);
  for (const char* list : {"words", "features"}) {
    if (!j.contains(list)) continue;
    auto& dst = list[0] == 'w' ? p.words : p.features;
    if (!j[list].is_array()) throw Error(std::string("field '") + list + "' must be an array of strings", where);
    for (const auto& v : j[list]) {
      if (!v.is_string()) throw Error(std::string("field '") + list + "' must be an array of strings", where);
      dst.push_back(v.get<std::string>());
    }
  }
  if (!p.words.empty() || !p.features.empty()) p.beginning.clear();  // a request, not a beginning
  return p;
}

bool has_yaml_extension(const std::string& path) {
  for (const char* ext : {".yaml", ".yml"})
    if (path.size() >= std::string_view(ext).size() && path.compare(path.size() - std::string_view(ext).size(), std::string::npos, ext) == 0)
      return true;
  return false;
}

}  // namespace

std::vector<std::string> parse_yaml_string_list(const std::string& text, const std::string& name) {
  std::vector<std::string> out;
  long n = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = std::min(text.find('\n', pos), text.size());
    std::string line(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || (n == 1 && t == "---")) continue;
    if (line[0] == ' ' || line[0] == '\t')
      throw Error("an indented line: this reader takes a flat list, one '- text' per line", at_line(name, n));
    out.push_back(yaml_item(line, at_line(name, n)));
  }
  return out;
}

StoryTexts read_story_texts(const std::string& path) {
  const std::string text = read_file(path);
  StoryTexts r;
  if (text.find(kEndOfText) != std::string::npos) {
    r.stories = split_trimmed(text, kEndOfText);
    r.form = "text with <|endoftext|> between stories";
  } else if (first_line(text).rfind('{', 0) == 0) {
    std::set<std::string> fields;
    for_each_jsonl_text(text, path, [&](const json& j, const std::string& where) { r.stories.push_back(story_field(j, where, fields)); });
    std::vector<std::string> quoted;
    for (const auto& f : fields) quoted.push_back("'" + f + "'");
    r.form = fmt::format("JSONL, field{} {}", fields.size() > 1 ? "s" : "", fmt::join(quoted, " and "));
  } else {
    r.stories = split_trimmed(text, "\n");
    r.form = "one story per line";
  }
  if (r.stories.empty()) throw Error("no stories in the file", path);
  return r;
}

std::vector<StoryPrompt> read_story_prompts(const std::string& path) {
  const std::string text = read_file(path);
  const std::string first = first_line(text);
  std::vector<StoryPrompt> out;
  if (has_yaml_extension(path) || first.rfind('-', 0) == 0) {
    for (auto& s : parse_yaml_string_list(text, path)) {
      StoryPrompt p;
      p.prompt = p.beginning = s;
      out.push_back(p);
    }
  } else if (first.rfind('{', 0) == 0) {
    for_each_jsonl_text(text, path, [&](const json& j, const std::string& where) { out.push_back(prompt_from_json(j, where)); });
  } else if (!first.empty()) {
    throw Error("expected JSONL ({\"prompt\": ...} per line) or a YAML list ('- text' per line)", path);
  }
  if (out.empty()) throw Error("no prompts in the file", path);
  return out;
}

}  // namespace slm::eval
