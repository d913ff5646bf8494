#pragma once
// Unknown names refused with the nearest valid one ("unknown field 'model.n_layer'; did you
// mean 'model.n_layers'?"): one rule for config files, reward configs and JSON records, so
// a typo is never silently ignored anywhere.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace slm {

// The name in `names` nearest to `key` by edit distance, or "" when none is close enough
// to be a typo of it (at most a third of the letters changed, at least 2 edits allowed).
std::string nearest_name(const std::string& key, const std::vector<std::string>& names);

// "unknown field 'model.n_layer'; did you mean 'model.n_layers'?": the message for a key
// of a section that is none of `names`.
std::string unknown_field_message(const std::string& key, const std::string& section,
                                  const std::vector<std::string>& names);

// Throws slm::Error(unknown_field_message, where) for the first key of the object `record`
// that is not in `known`.
void refuse_unknown_fields(const nlohmann::json& record, const std::vector<std::string>& known,
                           const std::string& where);

}  // namespace slm
