#include "slm/distill/compare.h"

#include <filesystem>

#include <fmt/format.h>

#include "slm/model/model_files.h"
#include "slm/model/params.h"
#include "slm/train/loss_plot.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::distill {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

// The parameters of the run's final model (0 when it has none yet).
double run_params(const std::string& dir) {
  const auto p = fs::path(dir) / "model";
  if (!fs::exists(p / "config.json")) return 0;
  return double(model::ParamLayout(model::load_model_config(p.string())).total);
}

}  // namespace

json compare_runs(const std::vector<RunCurve>& runs, const std::string& svg_path) {
  static const char* colors[] = {"#000000", "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  std::vector<train::Curve> curves;
  json figs = json::array();
  for (size_t i = 0; i < runs.size(); ++i) {
    std::vector<train::CurvePoint> tr, val;
    const std::string metrics = (fs::path(runs[i].dir) / "metrics.jsonl").string();
    if (!fs::exists(metrics)) throw Error("not a run folder (no metrics.jsonl)", runs[i].dir);
    train::read_loss_curves(metrics, tr, val);
    if (val.empty()) throw Error("the run has no validation loss (train.eval_every was 0?)", metrics);
    curves.push_back({xml_escape(runs[i].name), colors[i % 7], val, i == 0 ? 1.5 : 2.0, true});
    figs.push_back({{"name", runs[i].name},
                    {"dir", runs[i].dir},
                    {"params", run_params(runs[i].dir)},
                    {"steps", val.back().step},
                    {"val_loss", val.back().loss}});
  }
  if (figs.size() >= 2) {
    const double teacher = figs[0]["val_loss"], scratch = figs[1]["val_loss"];
    for (auto& f : figs) {
      const double gain = scratch - teacher;
      f["recovered"] = gain > 0 ? json((scratch - f["val_loss"].get<double>()) / gain) : json(nullptr);
    }
  }
  train::write_curves_svg(svg_path, curves, "validation loss: teacher, scratch and distilled students");
  return figs;
}

std::string compare_table(const json& figs) {
  std::string t = fmt::format("{:<30} {:>9} {:>7} {:>9} {:>10}\n", "run", "params", "steps", "val loss", "recovered");
  for (const auto& f : figs)
    t += fmt::format("{:<30} {:>8.2f}M {:>7.0f} {:>9.4f} {:>10}\n", f["name"].get<std::string>(),
                     f["params"].get<double>() / 1e6, f["steps"].get<double>(), f["val_loss"].get<double>(),
                     f.contains("recovered") && f["recovered"].is_number()
                         ? fmt::format("{:.0f}%", 100 * f["recovered"].get<double>())
                         : std::string("-"));
  return t;
}

}  // namespace slm::distill
