#pragma once
// What a model gets from one line of its documents: the loss on the text after that line
// (the story after its header's `Words:` line), as written and with the line swapped for
// another document's. The swap is a random derangement, so the swapped corpus has the same
// lines, each over the wrong story; the difference in loss, in nats a token, is what the
// right line is worth to the model (a resample ablation over a corpus). A model that copies
// its header's words into the story gains from the right line; one that has not learned to
// copy yet gains nothing, and instruction tuning and RL have no copying to build on
// (docs/alignment.md, item 20).
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::explain {

struct LineSwap {
  int documents = 0;           // documents scored
  int without_line = 0;        // left out: no line with the prefix, or nothing after it
  int past_context = 0;        // left out: the text after the line starts beyond the context
  int64_t tokens = 0;          // tokens after the line scored (the same in both versions)
  double loss_written = 0;     // mean loss a token after the line, as written
  double loss_swapped = 0;     // ... with the line of another document
  double worth() const { return loss_swapped - loss_written; }
};

// The line of a document that starts with prefix (at the start or after a '\n'), through
// its '\n': [begin, end) in doc; begin == end when there is none or nothing follows it.
struct LineSpan {
  size_t begin = 0, end = 0;
};
LineSpan find_line(const std::string& doc, const std::string& prefix);

// A random derangement of 0..n-1 (Sattolo's algorithm: one cycle, so no i maps to
// itself), deterministic for a seed. n >= 2.
std::vector<size_t> derangement(size_t n, uint64_t seed);

// A document cut at its line: the tokens before it, of the line, and after it. Encoded in
// parts, so the text after the line is the same tokens whichever line stands before it.
struct DocumentParts {
  std::vector<uint32_t> head, line, tail;
};

// Scores each document's tail after its own line and after the line of document
// derangement(n, seed)[i], over the same tail tokens: as many as fit in the context after
// the longer of the two lines. Throws slm::Error for fewer than two documents.
LineSwap line_swap_parts(model::Transformer<float>& m, const std::vector<DocumentParts>& docs, uint64_t seed,
                         bool quiet = true);

// The documents that have the line, cut and encoded with tok, then line_swap_parts.
// Throws slm::Error when fewer than two have it.
LineSwap line_swap(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::vector<std::string>& docs,
                   const std::string& prefix, uint64_t seed, bool quiet = true);

}  // namespace slm::explain
