#pragma once
// DPO, Direct Preference Optimization (Rafailov et al. 2023): learning from pairs of
// responses to one prompt, one preferred (chosen) over the other (rejected), with no
// reward model and no sampling. The loss raises the policy's log-ratio to the frozen
// reference on the chosen response over the rejected one, -log sigmoid(beta * margin);
// IPO (Azar et al. 2023) regresses the margin to 1/(2 beta) instead, which does not push
// margins without bound when preferences are deterministic. Pairs come from `slm feedback
// export` (people's ratings) or `slm align preferences` (preferences.h).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/align/grpo.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/loop.h"

namespace slm::align {

struct Preference {
  std::string prompt, chosen, rejected;  // prompt: the request, wrapped in Alpaca's template
  std::string input;                     // optional: Alpaca's input (e.g. the story a question is about)
  bool partial = false;                  // "partial": true: two beginnings, compared without <|endoftext|>
  std::string where;                     // file:line
};

// {"prompt", "chosen", "rejected"} records (and an optional "input" and "partial"), one a line. A missing or empty field, a pair
// whose responses are the same, or a line that is not JSON is an error naming file:line.
std::vector<Preference> read_preferences(const std::string& path);

struct DpoOptions {
  AlignRun run;      // run.train.batch_size: pairs a micro-batch
  std::string data;      // preferences (JSONL)
  std::string val_data;  // held-out preferences: their loss, accuracy and margin at each eval_every step
  double beta = 0.1;
  bool ipo = false;
  double nll_weight = 0;  // RPO: this times the chosen response's mean NLL added to each pair's loss
};

AlignResult dpo(const DpoOptions& opt);


}  // namespace slm::align
