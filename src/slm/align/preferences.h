#pragma once
// Preference pairs without people, for DPO (dpo.h): ranked by the rule rewards, or made
// from the data's answers and minimal edits of the required words (word_swap.h).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/align/rewards.h"

namespace slm::align {

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
