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

}  // namespace slm::eval
