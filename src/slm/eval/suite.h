#pragma once
// `slm eval --model DIR`: every part of the evaluation on one model, collected into the
// report's form (report.h): loss and perplexity, story metrics, the few-shot harness,
// and the LLM judge when one is given.
#include <string>
#include <vector>

#include "slm/eval/judge.h"
#include "slm/eval/report.h"

namespace slm::eval {

struct SuiteOptions {
  std::string loss_data;     // shards folder, .bin or text for the loss; empty: the run's val shards if found
  int stories = 16;          // beginnings and as many requests
  int story_tokens = 300;
  std::string story_prompts; // JSONL or YAML beginnings to continue instead of the built-in ones (story_files.h)
  std::string story_text;    // stories someone wrote, scored without a model (evaluate_and_report)
  std::string train_text;    // corpus for the novel-4-gram share; optional
  std::string tasks;         // multiple-choice JSONL; empty: the built-in story tasks
  std::string shots_from;    // the tasks' train split for K-shot examples; empty: the other items
  int mc_items = 30;         // built-in: items of each task
  std::vector<int> ks = {0, 1, 3};
  JudgeOptions judge;        // judge.url empty: no judge
  std::string judged_out;    // JSONL of judged samples (prompt, completion, scores, judge), if set
  uint64_t seed = 1;
  bool quiet = false;
  bool do_loss = true, do_stories = true, do_fewshot = true;
};

ModelReport run_suite(const std::string& model_dir, const SuiteOptions& opt);

// The story metrics of opt.story_text's stories (read_story_texts), in the report's form:
// named after the file, with "stories": {"metrics", "samples", "file", "form"}.
ModelReport score_text_file(const SuiteOptions& opt);

// `slm eval` and its parts: run_suite on each model (several side by side; the judged
// samples of model i go to judged_i.jsonl then), or score_text_file when opt.story_text is
// set and no model is given; then OUT/report.json and OUT/report.html. Returns the HTML path.
// Empty judge.cache_path and judged_out default to OUT/judge_cache.jsonl, OUT/judged.jsonl.
std::string evaluate_and_report(const std::vector<std::string>& model_dirs, SuiteOptions opt, const std::string& out_dir);

}  // namespace slm::eval
