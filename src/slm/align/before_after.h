#pragma once
// The closing measurement of an alignment run: the base and the tuned model side by side
// on held-out requests (`slm eval instruct`: required words, features, questions) and on
// story prompts (`slm eval stories`: grammar, child vocabulary, repetition), written to
// out_dir/instruct.json and out_dir/report.json + report.html (with the run's curve).
#include <string>

namespace slm::align {

struct BeforeAfterOptions {
  std::string records;  // held-out `slm data instruct` records (JSONL)
  int limit = 200;      // records at most
  int stories = 16;     // story prompts (0: none)
  bool quiet = false;
};

// Returns the tables, for a terminal.
std::string before_after(const std::string& base, const std::string& tuned, const std::string& out_dir,
                         const BeforeAfterOptions& opt);

// A figure of a run's metrics.jsonl by step (e.g. "reward"), drawn as run_dir/file.
void write_metric_curve(const std::string& run_dir, const std::string& key, const std::string& file,
                        const std::string& title);

}  // namespace slm::align
