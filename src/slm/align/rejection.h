#pragma once
// Rejection-sampling fine-tuning data (RFT: Yuan et al. 2023; Llama 2's rejection
// sampling; RAFT, Dong et al. 2023): for each request, G completions sampled from the
// model, scored by the rule rewards (rewards.h) and checked for flawed words (flaws.h);
// the best ones that pass every check are written as instruction records, which
// `slm finetune` trains on like any other. Unlike GRPO it learns only from successes, so
// a story that used the words but misspelled or looped on the way is never trained: the
// quality bar is a filter, not a weight traded against the words (docs/alignment.md,
// item 18).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "slm/align/rewards.h"

namespace slm::align {

struct RejectionOptions {
  std::string model, prompts, out;
  std::vector<std::string> tasks;  // only these tasks' records (empty: all)
  RewardConfig rewards;
  int group = 8;          // G: completions sampled a request
  int keep = 1;           // at most this many passing completions a request, best first (distinct texts)
  int batch = 8;          // requests a thread decodes together (batch x group sequences)
  int max_tokens = 300;
  float temperature = 1.0f;
  int top_k = 0;
  int limit = 0;          // requests at most (0: all)
  // Rules that must score 1 where they apply (e.g. words: every required word used; eot:
  // the completion ended by itself; answer: the exact answer).
  std::vector<std::string> require = {"words", "eot"};
  double min_reward = 0;  // and the total reward at least this
  bool no_flaws = true;   // and no misspelled, doubled or looping word (flaws.h)
  // The word guide (word_guide.h): while a required word is unwritten its first token's
  // logit gets +guide, the next token of a started one +guide_next (< 0: 2 x guide); both
  // 0: unguided sampling.
  float guide = 0, guide_next = -1;
  uint64_t seed = 1;
  int threads = 1;
  bool quiet = false;
};

struct RejectionStats {
  size_t requests = 0, samples = 0, kept = 0;
  size_t requests_kept = 0;                  // requests with at least one record written
  std::map<std::string, size_t> failed;      // samples that failed each check (a sample may fail several)
  double mean_reward = 0, mean_kept_reward = 0;
};

class FlawFinder;

// The checks one completion fails, in order (empty: it passes): "blank", each rule of
// opt.require that applies and scores below 1 (or "eot" when it did not end by itself),
// "min_reward", and "flaws" (flaws non-null: a flawed word that is not one of asked,
// FlawFinder::request_words).
std::vector<std::string> rejection_failures(const RejectionOptions& opt, const Reward& reward, bool ended,
                                            const std::string& text, const FlawFinder* flaws,
                                            const std::set<std::string>& asked);

// Writes out (JSONL, atomically): each kept completion as its request's record with the
// completion as "output", plus "reward" (the total) and "sampled": true (and "guide":
// [start, next] when the word guide was on).
RejectionStats rejection_sample(const RejectionOptions& opt);

}  // namespace slm::align
