#include "slm/train/metrics_file.h"

#include <fstream>

namespace slm::train {

void for_each_metrics_record(const std::string& metrics_path, const std::function<void(const nlohmann::json&)>& fn) {
  std::ifstream in(metrics_path);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) fn(j);
  }
}

}  // namespace slm::train
