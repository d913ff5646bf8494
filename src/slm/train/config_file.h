#pragma once
// A run's configuration as a user gives it: a preset (configs/NAME.json) or a JSON file,
// then --set SECTION.FIELD=VALUE overrides in order. Every key at every level is checked:
// an unknown one is an error that suggests the nearest valid name, a wrong type names the
// key and the type expected.
#include <optional>
#include <string>
#include <vector>

#include "slm/model/config.h"
#include "slm/train/train_config.h"

namespace slm::train {

struct RunConfig {
  std::string path;                         // the file read
  std::optional<model::ModelConfig> model;  // absent when the file has no model section
  TrainConfig train;                        // validated
};

// NAME when it is a file, else NAME.json in the first of preset_dirs that has it.
std::string find_config(const std::string& name, const std::vector<std::string>& preset_dirs);

// "" when kv is a valid override (SECTION.FIELD=VALUE naming a known field, with a value
// of the field's type), else what is wrong with it: the command line's check of --set.
// VALUE is read as JSON when it parses, else as a string.
std::string override_problem(const std::string& kv);

// Reads the config and applies the overrides. With allow_model false (fine-tuning, where
// the model comes from the base) a model section or a model.* override is an error.
// Throws slm::Error naming the file or the --set at fault.
RunConfig load_run_config(const std::string& name, const std::vector<std::string>& sets,
                          const std::vector<std::string>& preset_dirs, bool allow_model = true);

}  // namespace slm::train
