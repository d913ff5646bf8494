#include "slm/data/sources.h"

#include <nlohmann/json.hpp>

#include "slm/util/reader.h"
#include "slm/util/text.h"

namespace slm::data {

namespace {

constexpr std::string_view kEndOfText = "<|endoftext|>";

bool ends_with(const std::string& s, std::string_view e) {
  return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

// The "file:line" of byte `offset` of a chunk that starts at `line`.
std::string where_in(const std::string& path, long line, std::string_view chunk, size_t offset) {
  for (size_t i = 0; i < offset && i < chunk.size(); ++i) line += chunk[i] == '\n';
  return at_line(path, line);
}

// Checks UTF-8, reports the exact line of a bad byte.
bool valid_utf8(const std::string& path, long line, std::string_view s, const BadFn& on_bad) {
  size_t bad = utf8_invalid_at(s);
  if (bad == std::string_view::npos) return true;
  on_bad(Error("invalid UTF-8 (byte " + std::to_string(uint8_t(s[bad])) + ")", where_in(path, line, s, bad)));
  return false;
}

void read_text(const std::string& path, const SourceOptions& opt, const RecordFn& on_record, const BadFn& on_bad) {
  LineReader in(path);
  std::string doc, line;
  long doc_line = 1;
  auto emit = [&] {
    if (valid_utf8(path, doc_line, doc, on_bad) && !clean_whitespace(doc).empty()) {
      Record r;
      r.text = std::move(doc);
      on_record(std::move(r), at_line(path, doc_line));
    }
    if (opt.progress) opt.progress(in.offset());
    doc.clear();
    doc_line = in.line();
  };
  while (in.getline(line)) {
    size_t start = 0, hit;
    while ((hit = line.find(kEndOfText, start)) != std::string::npos) {
      doc.append(line, start, hit - start);
      emit();
      start = hit + kEndOfText.size();
    }
    if (opt.paragraphs && line.find_first_not_of(" \t\r") == std::string::npos) {
      emit();
      continue;
    }
    if (doc.empty() && line.find_first_not_of(" \t\r", start) == std::string::npos) {
      doc_line = in.line();  // skip blank lines between documents
      continue;
    }
    doc.append(line, start);
    doc.push_back('\n');
  }
  emit();
}

void parse_record(const std::string& path, long line, const std::string& text, const RecordFn& on_record,
                  const BadFn& on_bad) {
  if (!valid_utf8(path, line, text, on_bad)) return;
  std::string where = at_line(path, line);
  nlohmann::json obj;
  try {
    obj = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the problem.
    on_bad(Error(std::string("malformed JSON: ") + e.what(), where_in(path, line, text, e.byte ? e.byte - 1 : 0)));
    return;
  } catch (const nlohmann::json::exception& e) {  // out_of_range: a number such as 1e999
    on_bad(Error(std::string("malformed JSON: ") + e.what(), where));
    return;
  }
  Record r;
  try {
    r = record_from_json(obj, where);
  } catch (const Error& e) {
    on_bad(e);
    return;
  }
  on_record(std::move(r), where);
}

void read_jsonl(const std::string& path, const SourceOptions& opt, const RecordFn& on_record, const BadFn& on_bad) {
  LineReader in(path);
  std::string line;
  for (long n = 1; in.getline(line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    parse_record(path, n, line, on_record, on_bad);
    if (opt.progress) opt.progress(in.offset());
  }
}

// Splits a JSON array into its elements without holding the whole array: tracks strings
// and nesting depth, hands each top-level element to the JSON parser on its own.
void read_json_array(const std::string& path, const SourceOptions& opt, const RecordFn& on_record,
                     const BadFn& on_bad) {
  LineReader in(path);
  auto skip_ws = [&] {
    int c;
    while ((c = in.get()) == ' ' || c == '\n' || c == '\t' || c == '\r') {
    }
    return c;
  };
  int c = skip_ws();
  if (c != '[') {
    on_bad(Error(c < 0 ? "empty JSON file" : "expected a JSON array of records ('[')", at_line(path, in.line())));
    return;
  }
  std::string elem;
  for (bool first = true;; first = false) {
    c = skip_ws();
    if (c == ']' && first) return;
    if (c < 0) {
      on_bad(Error("unexpected end of file inside the JSON array", at_line(path, in.line())));
      return;
    }
    long line = in.line();
    elem.assign(1, char(c));
    int depth = (c == '{' || c == '[') ? 1 : 0;
    bool in_string = c == '"', escape = false;
    while (depth > 0 || in_string) {
      int d = in.get();
      if (d < 0) {
        on_bad(Error("unexpected end of file inside a record", at_line(path, line)));
        return;
      }
      elem.push_back(char(d));
      if (in_string) {
        if (escape) escape = false;
        else if (d == '\\') escape = true;
        else if (d == '"') in_string = false;
      } else if (d == '"') {
        in_string = true;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        --depth;
      }
    }
    if (c != '{') {  // a number, string or array where a record should be
      on_bad(Error("expected a JSON object for each record", at_line(path, line)));
      // Scalars are not consumed whole by the scan above: give up on this file.
      if (c != '[' && c != '"') return;
    } else {
      parse_record(path, line, elem, on_record, on_bad);
    }
    if (opt.progress) opt.progress(in.offset());
    c = skip_ws();
    if (c == ']') return;
    if (c != ',') {
      on_bad(Error("expected ',' or ']' after a record", at_line(path, in.line())));
      return;
    }
  }
}

}  // namespace

SourceFormat source_format_for(const std::string& path) {
  if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson")) return SourceFormat::Jsonl;
  if (ends_with(path, ".json")) return SourceFormat::JsonArray;
  return SourceFormat::Text;
}

void read_source(const std::string& path, SourceFormat format, const SourceOptions& opt, const RecordFn& on_record,
                 const BadFn& on_bad) {
  bool any = false;
  RecordFn counted = [&](Record&& r, const std::string& where) {
    any = true;
    on_record(std::move(r), where);
  };
  BadFn counted_bad = [&](const Error& e) {
    any = true;
    on_bad(e);
  };
  switch (format) {
    case SourceFormat::Text: read_text(path, opt, counted, counted_bad); break;
    case SourceFormat::Jsonl: read_jsonl(path, opt, counted, counted_bad); break;
    case SourceFormat::JsonArray: read_json_array(path, opt, counted, counted_bad); break;
  }
  if (!any && !opt.allow_empty) on_bad(Error("empty file: no records", path));
}

}  // namespace slm::data
