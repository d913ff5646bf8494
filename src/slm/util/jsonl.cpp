#include "slm/util/jsonl.h"

#include <string_view>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm {

size_t for_each_jsonl_text(const std::string& text, const std::string& name,
                           const std::function<void(const nlohmann::json&, const std::string&)>& fn,
                           bool objects_only) {
  size_t count = 0;
  long n = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = at_line(name, n);
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) throw Error("malformed JSON: expected one JSON value per line", where);
    if (objects_only && !j.is_object()) throw Error("expected a JSON object on this line", where);
    fn(j, where);
    ++count;
  }
  return count;
}

size_t for_each_jsonl(const std::string& path,
                      const std::function<void(const nlohmann::json&, const std::string&)>& fn,
                      bool objects_only) {
  return for_each_jsonl_text(read_file(path), path, fn, objects_only);
}

std::string shown_json(const nlohmann::json& v) {
  if (v.is_array()) return "a list";
  if (v.is_object()) return "an object";
  std::string s = v.dump();
  return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

std::string string_field(const nlohmann::json& record, const char* key, const std::string& where) {
  auto it = record.find(key);
  if (it == record.end() || !it->is_string())
    throw Error(std::string("field '") + key + "' must be a string", where);
  return it->get<std::string>();
}

}  // namespace slm
