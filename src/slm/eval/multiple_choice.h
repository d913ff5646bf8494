#pragma once
// The few-shot harness: multiple-choice tasks scored by the log-likelihood the model
// gives each choice after the context, summed (acc) and divided by the choice's length
// in bytes (acc_norm), as lm-evaluation-harness does; K solved examples from the task's
// train split go before the context (GPT-3's few-shot setting, no weight change).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::eval {

struct McItem {
  std::string context;
  std::vector<std::string> choices;  // each appended to the context as it is (mind the leading space)
  int label = 0;
  std::string task;                  // the built-in task's name, or the file's
};

// JSONL of {"context", "choices", "label"}, or HellaSwag's {"ctx" (or "ctx_a" + "ctx_b"),
// "endings", "label"} as it is. A label outside the choices names the line.
std::vector<McItem> read_mc_file(const std::string& path);

// Tasks from the story world, on stories no quickstart corpus contains: which object,
// which character, which feeling, which ending fits. n items of each.
std::vector<McItem> builtin_mc_tasks(int n, uint64_t seed);

struct McResult {
  int k = 0, n = 0;
  double acc = 0, acc_norm = 0;
};

// Accuracy of the model on items, with k shots drawn (seeded, per item) from `shots`
// (never the item itself). The prompt keeps its end when it exceeds the context.
McResult score_mc(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::vector<McItem>& items,
                  const std::vector<McItem>& shots, int k, uint64_t seed);

// The log-likelihood of each choice after the context (sum over its tokens).
std::vector<double> choice_logprobs(model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                    const std::string& context, const std::vector<std::string>& choices);

}  // namespace slm::eval
