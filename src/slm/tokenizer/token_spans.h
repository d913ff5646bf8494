#pragma once
// Which tokens spell which part of a text: the bytes each token decodes to are laid end to
// end, and a token is marked where its bytes overlap a byte range of the text (so both
// halves of " type"+"writer" are). What --words-weight (fine-tuning) and --word-credit
// (GRPO) use to find the tokens of a required word.
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "slm/tokenizer/bpe.h"

namespace slm::tokenizer {

// mark[i] = labels[r] of the last range r that token i overlaps, 0 where it overlaps none
// (empty ranges overlap nothing). A token that is one space and ends where a range begins
// is marked too (unless opening_space is false): with slm tokenizer train --space-merges a
// rarer word is " " + its body, and that space token is where the model chooses to write it.
// When the ids do not decode to exactly text (a tokenizer that normalises), every mark is 0.
std::vector<uint8_t> mark_token_spans(const Tokenizer& tok, const std::vector<uint32_t>& ids, std::string_view text,
                                      const std::vector<std::pair<size_t, size_t>>& ranges,
                                      const std::vector<uint8_t>& labels, bool opening_space = true);

}  // namespace slm::tokenizer
