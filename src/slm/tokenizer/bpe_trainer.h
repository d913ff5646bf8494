#pragma once
// Training a byte-level BPE vocabulary, GPT-2 style: the corpus is split by the GPT-2
// pre-tokenizer and the pieces counted (WordCounts); then, starting from the 256 byte
// tokens, the most frequent adjacent pair is merged into a new token, again and again,
// until the vocabulary has the size asked for. Ties go to the pair of lower token ids,
// so the same corpus always gives the same vocabulary.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "slm/tokenizer/bpe.h"

namespace slm::tokenizer {

// Counts of pre-tokenized pieces. One per thread while counting, then merged.
class WordCounts {
 public:
  WordCounts();
  // Splits text (special tokens, given, are cut out and never counted) and counts pieces.
  void add_text(std::string_view text, const std::vector<std::string>& specials = {});
  void add(std::string_view piece, uint64_t count = 1);
  void merge_from(const WordCounts& other);
  size_t unique() const { return used_; }
  uint64_t total() const { return total_; }
  template <class Fn>
  void for_each(Fn&& fn) const {  // fn(piece, count)
    for (const auto& s : slots_)
      if (s.hash) fn(std::string_view(arena_).substr(s.off, s.len), s.count);
  }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty
    uint64_t off = 0;
    uint32_t len = 0;
    uint64_t count = 0;
  };
  void grow();
  std::vector<Slot> slots_;
  std::string arena_;
  size_t used_ = 0;
  uint64_t total_ = 0;
};

struct TrainOptions {
  size_t vocab_size = 8192;      // bytes + merges + special tokens
  uint64_t min_frequency = 2;    // a pair seen fewer times is never merged
  std::vector<std::string> specials = {std::string(kEndOfText)};
  // 0: GPT-2's BPE, where " octopus" and "\"octopus" may share no token. In (0, 1): every
  // piece's leading space is set aside, the rest merged as it is wherever it stands, and
  // then this share of the merges joins the space to the commonest whole words (ranked
  // after every other merge, so the encoder splits a word the same after a space, a quote
  // or a line start, and a rarer word is a space token and then its body).
  double space_merges = 0;
  bool quiet = false;
};

// Throws slm::Error for an empty special token or a vocabulary with no room for the byte
// tokens and <|endoftext|>: called before counting, so bad options fail at once.
void check_train_options(const TrainOptions& opt);

// Throws slm::Error as check_train_options does, and for a vocabulary smaller than 256 +
// the specials or an empty corpus.
Tokenizer train_bpe(const WordCounts& counts, const TrainOptions& opt);

}  // namespace slm::tokenizer
