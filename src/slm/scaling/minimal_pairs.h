#pragma once
// Zero-shot grammar from minimal pairs, as BLiMP (Warstadt et al., 2020) measures it: two
// sentences that differ in one word, one grammatical and one not, built from the story
// world's vocabulary; the model "knows" the rule on a pair when it gives the grammatical
// sentence the higher log-likelihood (the whole sentence after <|endoftext|>). Every task
// is balanced by construction (half the pairs want one form, half the other), so a model
// with a blind preference for a word, or for the shorter sentence, scores 50%: chance.
//   agreement:          "The kite was red."     / "The kite were red."   (and "The kites were red." / "... was ...")
//   pronoun_gender:     "Lily was shy, so she went home." / "... he went home."   (the name's gender)
//   determiner_number:  "Tom saw a kite."       / "Tom saw a kites."     (and "two kites" / "two kite")
//   article:            "Tom saw an apple."     / "Tom saw a apple."     (and "a kite" / "an kite")
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/scaling/emergence.h"
#include "slm/tokenizer/bpe.h"

namespace slm::scaling {

struct MinimalPair {
  std::string task, good, bad;
};

// The task names, in the order minimal_pairs makes them.
const std::vector<std::string>& minimal_pair_task_names();

// n pairs of each task (n rounded up to even: half in each form), fixed by the seed.
std::vector<MinimalPair> minimal_pairs(int n, uint64_t seed);

// The log-likelihoods of a pair's good and bad sentence.
using PairScorer = std::function<std::array<double, 2>(const MinimalPair&)>;

// The model's: each sentence's summed log-probability after <|endoftext|>, one forward pass for both.
PairScorer model_pair_scorer(model::Transformer<float>& m, const tokenizer::Tokenizer& tok);

// Accuracy of each task (K = 0, chance 0.5) with its 95% Wilson interval; a tie counts half.
std::vector<TaskScore> score_minimal_pairs(const std::vector<MinimalPair>& pairs, const PairScorer& score);

}  // namespace slm::scaling
