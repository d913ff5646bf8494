#include "slm/train/config_file.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"

namespace slm::train {

using nlohmann::json;

namespace {

const std::vector<std::string> kSections = {"description", "model", "train"};

// A top-level key that is no section: it may be a field put at the wrong level
// ({"n_layer": 6} for {"model": {"n_layers": 6}}), so look for it in both sections too.
std::string unknown_top_level(const std::string& key) {
  std::string near = nearest_name(key, kSections);
  if (near.empty()) {
    if (auto m = nearest_name(key, model::ModelConfig::field_names()); !m.empty()) near = "model." + m;
    else if (auto t = nearest_name(key, TrainConfig::field_names()); !t.empty()) near = "train." + t;
  }
  std::string msg = "unknown field '" + key + "' (a config has 'description', 'model' and 'train')";
  return near.empty() ? msg : msg + "; did you mean '" + near + "'?";
}

json read_config_json(const std::string& path) {
  json cfg;
  try {
    cfg = json::parse(read_file(path));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
    throw Error(std::string("malformed JSON: ") + e.what(), path);
  }
  if (!cfg.is_object()) throw Error("a config is a JSON object with 'model' and 'train'", path);
  for (const auto& [k, v] : cfg.items()) {
    if (std::find(kSections.begin(), kSections.end(), k) == kSections.end()) throw Error(unknown_top_level(k), path);
    if (k == "description" && !v.is_string()) throw Error("field 'description' must be a string", path);
  }
  return cfg;
}

struct Override {
  std::string section, field;
  json value;
};

// Splits SECTION.FIELD=VALUE; throws slm::Error saying what is wrong.
Override parse_override(const std::string& kv) {
  auto eq = kv.find('='), dot = kv.find('.');
  if (eq == std::string::npos || dot == std::string::npos || dot > eq)
    throw Error("expected SECTION.FIELD=VALUE, e.g. train.lr=1e-3");
  Override o{kv.substr(0, dot), kv.substr(dot + 1, eq - dot - 1), {}};
  if (o.section != "model" && o.section != "train")
  {
    std::string near = nearest_name(o.section, {"model", "train"});
    throw Error("unknown section '" + o.section + "' (the sections are 'model' and 'train')" +
                (near.empty() ? "" : "; did you mean '" + near + "'?"));
  }
  json v = json::parse(kv.substr(eq + 1), nullptr, false);
  o.value = v.is_discarded() ? json(kv.substr(eq + 1)) : v;
  // Parsing the field alone checks its name and its value's type.
  const json one = {{o.field, o.value}};
  if (o.section == "model")
    model::ModelConfig::from_json(one, "");
  else
    TrainConfig::from_json(one, "");
  return o;
}

}  // namespace

namespace {

// The presets there are: the names of the .json files in preset_dirs, sorted, each once.
// Read from the folders so that a new preset is named without a list to keep in step.
std::string preset_names(const std::vector<std::string>& preset_dirs) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  for (const auto& dir : preset_dirs) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return list.empty() ? "none found" : list;
}

}  // namespace

std::string find_config(const std::string& name, const std::vector<std::string>& preset_dirs) {
  namespace fs = std::filesystem;
  if (fs::is_regular_file(name)) return name;
  for (const auto& dir : preset_dirs)
    if (fs::is_regular_file(dir + "/" + name + ".json")) return dir + "/" + name + ".json";
  throw Error("no such config file or preset (" + preset_names(preset_dirs) + ")", "--config " + name);
}

std::string override_problem(const std::string& kv) {
  try {
    parse_override(kv);
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

RunConfig load_run_config(const std::string& name, const std::vector<std::string>& sets,
                          const std::vector<std::string>& preset_dirs, bool allow_model) {
  RunConfig r;
  r.path = find_config(name, preset_dirs);
  json cfg = read_config_json(r.path);
  if (!allow_model && cfg.contains("model"))
    throw Error("the model comes from --base: a fine-tuning config has no 'model' section", r.path);
  // The file alone first, so that its own errors name it rather than an override.
  if (cfg.contains("model")) model::ModelConfig::from_json(cfg["model"], r.path);
  if (cfg.contains("train")) TrainConfig::from_json(cfg["train"], r.path);
  for (const auto& kv : sets) {
    Override o;
    try {
      o = parse_override(kv);
    } catch (const Error& e) {
      throw Error(e.what(), "--set " + kv);
    }
    if (!allow_model && o.section == "model") throw Error("the model comes from --base, not from --set", "--set " + kv);
    cfg[o.section][o.field] = o.value;
  }
  const std::string origin = sets.empty() ? r.path : r.path + " with --set";
  if (cfg.contains("model")) r.model = model::ModelConfig::from_json(cfg["model"], origin);
  r.train = TrainConfig::from_json(cfg.value("train", json::object()), origin);
  r.train.validate(origin);
  return r;
}

}  // namespace slm::train
