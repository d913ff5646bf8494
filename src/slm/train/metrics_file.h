#pragma once
// A run's metrics.jsonl (one JSON object per logged step), read by the loss curve, the
// expert-load picture, the alignment curves and the report. Unlike an input file it is
// slm's own log: a line that is not an object (the last line of a run killed while writing
// it) is skipped, not an error.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace slm::train {

// Calls fn(record) for each line of metrics_path that is a JSON object; nothing when the
// file does not exist.
void for_each_metrics_record(const std::string& metrics_path, const std::function<void(const nlohmann::json&)>& fn);

}  // namespace slm::train
