#pragma once
// The evaluation report people look at: report.json (every figure) and a self-contained
// report.html (inline SVG charts, no scripts, no network): metric bars, the training
// loss curve when the model folder's run has one, few-shot accuracy against K, judge
// grades, and a table of sample stories with their scores. Several models (slm eval
// --compare A B) share every chart, side by side.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slm::eval {

// One model's results, as `slm eval` collects them:
// {"name", "path", "loss": {...}, "stories": {"metrics", "samples"}, "fewshot": [{task, k, acc, acc_norm, n}],
//  "judge": {"means", "failed", "samples"}, "curve": {"train": [[step, loss]], "val": [...]}}
using ModelReport = nlohmann::json;

// The loss curve of the run a model folder came from (its parent's metrics.jsonl), or null.
nlohmann::json read_training_curve(const std::string& model_dir);

// The report's HTML page.
std::string report_html(const std::vector<ModelReport>& models);

// Writes out_dir/report.json and out_dir/report.html (atomically); returns the HTML path.
std::string write_report(const std::string& out_dir, const std::vector<ModelReport>& models);

// `slm eval report`: the models of several report.json files in one report in out_dir
// (write_report); returns the HTML path. A file that is not a report.json is an error naming it.
std::string merge_reports(const std::vector<std::string>& report_jsons, const std::string& out_dir);

}  // namespace slm::eval
