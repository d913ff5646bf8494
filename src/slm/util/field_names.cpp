#include "slm/util/field_names.h"

#include <algorithm>

#include "slm/util/error.h"

namespace slm {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string nearest_name(const std::string& key, const std::vector<std::string>& names) {
  std::string best;
  size_t best_d = std::max<size_t>(2, key.size() / 3) + 1;
  for (const auto& n : names) {
    // A name the key begins ("warmup" for "warmup_steps") is as near as a one-letter typo.
    size_t d = key.size() >= 3 && n.rfind(key, 0) == 0 ? 1 : edit_distance(key, n);
    if (d < best_d) best = n, best_d = d;
  }
  return best;
}

std::string unknown_field_message(const std::string& key, const std::string& section,
                                  const std::vector<std::string>& names) {
  const std::string prefix = section.empty() ? "" : section + ".";
  std::string msg = "unknown field '" + prefix + key + "'";
  std::string near = nearest_name(key, names);
  if (!near.empty()) msg += "; did you mean '" + prefix + near + "'?";
  return msg;
}

void refuse_unknown_fields(const nlohmann::json& record, const std::vector<std::string>& known,
                           const std::string& where) {
  if (!record.is_object()) return;
  for (const auto& [k, v] : record.items())
    if (std::find(known.begin(), known.end(), k) == known.end()) throw Error(unknown_field_message(k, "", known), where);
}

}  // namespace slm
