#pragma once
// Emergence: few-shot accuracy of a model on tasks that need the context (context_tasks.h)
// and the story world's built-in multiple-choice tasks, at several K, each with its 95%
// Wilson interval; and the tests that say when an ability is there: K shots beat zero
// shots by more than the difference's interval (Newcombe), accuracy above chance by more
// than its interval.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "slm/model/transformer.h"
#include "slm/scaling/sweep_config.h"
#include "slm/tokenizer/bpe.h"

namespace slm::scaling {

// The Wilson score interval of a proportion (z = 1.96: 95%). Successes may be fractional
// (a tie between two choices counts half).
struct Proportion {
  double p = 0, lo = 0, hi = 0;
};
Proportion wilson(double successes, int n, double z = 1.96);

// Newcombe's (1998, method 10) interval of the difference p1 - p2 of two independent
// proportions, from their Wilson intervals.
Proportion newcombe_difference(const Proportion& a, const Proportion& b);

struct TaskScore {
  std::string task;
  int k = 0, n = 0;
  double chance = 0;  // 1 / choices
  Proportion acc;
  nlohmann::json to_json() const;
  static TaskScore from_json(const nlohmann::json& j);
};

// Every task at every K of spec (n items each; shots from a second draw of the task), then
// the zero-shot minimal pairs (minimal_pairs.h; spec.pairs of each).
std::vector<TaskScore> evaluate_abilities(model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                          const EvalSpec& spec, uint64_t seed, bool quiet);

// `slm scaling abilities`: the few-shot tasks and the induction score of any model folder
// (a sweep's, the quickstart's), as a sweep point records them: {"model", "params",
// "abilities": [...], "induction": {...}}.
nlohmann::json model_abilities(const std::string& model_dir, const EvalSpec& spec, uint64_t seed, bool quiet);

// The smallest K whose accuracy exceeds the zero-shot accuracy of the same task by more than
// the difference's 95% interval (its lower end above 0), or -1.
int first_k_beating_zero(const std::vector<TaskScore>& scores, const std::string& task);

// Whether the task's accuracy at K is above chance by more than its interval.
bool above_chance(const std::vector<TaskScore>& scores, const std::string& task, int k);

}  // namespace slm::scaling
