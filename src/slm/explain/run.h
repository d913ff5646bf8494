#pragma once
// The four `slm explain` commands as library calls: load the model, read the prompt(s),
// compute, and write the output folder (page.h). The CLI only parses flags.
#include <string>
#include <vector>

#include "slm/explain/trace.h"

namespace slm::explain {

struct ExplainInput {
  std::string prompt;
  std::string answer;          // empty: the model's own prediction
  std::string subject;         // trace: the tokens to corrupt (empty: the prompt's first word)
  std::string counterfactual;  // patch: the other prompt, of the same number of tokens
  std::string cf_answer;       // patch: its answer (empty: the model's prediction for it)
  std::string where = "--prompt";  // for errors: the flag, or file:line
};

struct ExplainOptions {
  std::string model, out;
  bool first_token = false;  // score a multi-token answer by its first token instead of refusing it
  int top = 5;               // lens: tokens shown a cell
  TraceOptions trace;
};

// A JSON Lines prompt file: {"prompt": ..., "answer": ..., "subject": ...} a line ("answer"
// and "subject" optional). Errors name file:line and the field.
std::vector<ExplainInput> read_explain_prompts(const std::string& path);

// Each writes opts.out (index.html, result.json, the SVGs) and returns a one-line summary.
std::string run_trace(const ExplainOptions& opts, const std::vector<ExplainInput>& inputs);
std::string run_patch(const ExplainOptions& opts, const ExplainInput& in);
std::string run_lens(const ExplainOptions& opts, const ExplainInput& in);
std::string run_attention(const ExplainOptions& opts, const ExplainInput& in);

}  // namespace slm::explain
