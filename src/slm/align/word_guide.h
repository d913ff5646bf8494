#pragma once
// A soft lexical constraint for sampling (`slm align rft --guide B --guide-next C`):
// while a required word is not yet written, the logit of its next token is raised. Where
// no part of the word has been written, its first token gets +B at every step, so the
// model still picks the place (it comes where the word is already likely); once the last
// tokens written are the start of the word, its next token gets +C, so the word is
// finished as it is spelled rather than turned into a made-up one ("hunt" + "idy"). The
// word is the tokenizer's spelling after a space (" ball"), the one a story uses
// mid-sentence. A word counts as written when that run of tokens has been written: a
// capitalised "Ball" at a sentence's start is not seen (the bonus goes on), and " ball"
// followed by "oon" is; the rewards' word check, not this, decides what is kept.
//
// Why: rejection sampling can only keep what the model writes unaided, so the requests it
// fails on, the words it cannot yet copy, never reach the fine-tuning data. Guided, it
// writes them in its own stories, and the kept stories are the model's text except at the
// words (docs/alignment.md, item 19).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/tokenizer/bpe.h"

namespace slm::align {

class WordGuide {
 public:
  WordGuide(const tokenizer::Tokenizer& tok, const std::vector<std::string>& words, float start, float next);

  // Adds the bonuses to logits [vocab] given the tokens generated so far.
  void apply(const std::vector<uint32_t>& generated, float* logits) const;

  // The token ids of each word's spelling after a space (for tests and notes).
  const std::vector<std::vector<uint32_t>>& spellings() const { return spellings_; }

  // Whether `spelling` occurs in `generated` as a run of tokens.
  static bool written(const std::vector<uint32_t>& generated, const std::vector<uint32_t>& spelling);

 private:
  std::vector<std::vector<uint32_t>> spellings_;
  float start_, next_;
};

}  // namespace slm::align
