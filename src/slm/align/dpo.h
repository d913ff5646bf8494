#pragma once
// DPO, Direct Preference Optimization (Rafailov et al. 2023): learning from pairs of
// responses to one prompt, one preferred (chosen) over the other (rejected), with no
// reward model and no sampling. The loss raises the policy's log-ratio to the frozen
// reference on the chosen response over the rejected one, -log sigmoid(beta * margin);
// IPO (Azar et al. 2023) regresses the margin to 1/(2 beta) instead, which does not push
// margins without bound when preferences are deterministic. Pairs come from `slm feedback
// export` (people's ratings) or `slm align preferences` (groups ranked by the rule rewards).
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

// `slm align preferences`: for each request, G completions sampled from the model and
// scored by the rule rewards; a pair when the chosen response scores at least min_gap
// above the rejected one. The chosen response (`chosen`):
//  - "model": the best completion (over the worst);
//  - "reference": the record's own output (self-play pairs, as in SPIN, Chen et al. 2024:
//    the data's answer over the model's worst), which needs no success among the samples;
//  - "edited": the worst completion with words of its own swapped for the required words
//    it left out (word_swap.h: an on-policy minimal pair, writing requests only).
// With rejected "swap-words" (and chosen "reference") nothing is sampled: the rejected
// response is the reference with its required words swapped for others (word_swap.h).
// first_uses (with chosen "edited"): both responses end where the last edited word is
// first used, a "partial" pair: the preference is then for the choice of word alone, not
// for the repeats of it that follow (which copy whichever word came first).
// Writes out (JSONL, atomically); returns the pairs written.
struct PreferenceOptions {
  std::string model, prompts, out;
  std::vector<std::string> tasks;
  RewardConfig rewards;
  int group = 4, max_tokens = 256, limit = 0;
  float temperature = 1.0f;
  double min_gap = 0.1;
  std::string chosen = "model";     // model, reference, edited
  std::string rejected = "sample";  // sample, swap-words
  bool first_uses = false;
  uint64_t seed = 1;
  int threads = 1;
  bool quiet = false;
};
size_t rank_preferences(const PreferenceOptions& opt);

}  // namespace slm::align
