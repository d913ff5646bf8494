// `slm scaling abilities --sweep DIR`: the zero-shot minimal pairs on a finished sweep's
// models, added to their point.json without retraining (analysis.h).
#include <filesystem>

#include <fmt/format.h>

#include "slm/model/model_files.h"
#include "slm/scaling/analysis.h"
#include "slm/scaling/minimal_pairs.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::scaling {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The point.json of every model whose abilities the sweep measured.
std::vector<fs::path> measured_points(const std::string& dir) {
  std::vector<fs::path> out;
  for (const char* sub : {"runs", "holdout"}) {
    const auto d = fs::path(dir) / sub;
    if (!fs::is_directory(d)) continue;
    for (const auto& e : fs::directory_iterator(d)) {
      const auto f = e.path() / "point.json";
      if (!fs::exists(f)) continue;
      auto j = json::parse(read_file(f.string()), nullptr, false);
      if (j.is_discarded()) throw Error("not JSON", f.string());
      if (j.contains("abilities")) out.push_back(f);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_pair_task(const std::string& task) {
  const auto& names = minimal_pair_task_names();
  return std::find(names.begin(), names.end(), task) != names.end();
}

}  // namespace

int measure_sweep_minimal_pairs(const std::string& dir, int pairs, uint64_t seed, bool quiet) {
  if (pairs <= 0) throw Error("--pairs must be positive to measure minimal pairs", dir);
  const auto files = measured_points(dir);
  if (files.empty()) throw Error("no measured sweep points (runs/*/point.json with abilities): run slm scaling sweep first", dir);
  const auto items = minimal_pairs(pairs, seed);
  Progress bar("minimal pairs", double(files.size()), "models", quiet);
  int done = 0;
  for (const auto& f : files) {
    const auto model_dir = f.parent_path() / "model";
    if (!fs::exists(model_dir / "model.safetensors")) throw Error("the point's model is missing", model_dir.string());
    auto lm = model::load_model_and_tokenizer(model_dir.string());
    json pt = json::parse(read_file(f.string()));
    json ab = json::array();
    for (const auto& t : pt["abilities"])
      if (!is_pair_task(t["task"].get<std::string>())) ab.push_back(t);
    for (const auto& t : score_minimal_pairs(items, model_pair_scorer(*lm.model, *lm.tok))) ab.push_back(t.to_json());
    pt["abilities"] = ab;
    write_file_atomic(f.string(), pt.dump(1) + "\n");
    bar.update(double(++done));
  }
  bar.finish();
  write_scaling_report(dir);
  return done;
}

}  // namespace slm::scaling
