#include "slm/align/word_guide.h"

#include <algorithm>

namespace slm::align {

WordGuide::WordGuide(const tokenizer::Tokenizer& tok, const std::vector<std::string>& words, float start, float next)
    : start_(start), next_(next) {
  for (const auto& w : words) {
    if (w.empty()) continue;
    auto ids = tok.encode(" " + w);
    if (!ids.empty()) spellings_.push_back(std::move(ids));
  }
}

bool WordGuide::written(const std::vector<uint32_t>& generated, const std::vector<uint32_t>& spelling) {
  return std::search(generated.begin(), generated.end(), spelling.begin(), spelling.end()) != generated.end();
}

void WordGuide::apply(const std::vector<uint32_t>& generated, float* logits) const {
  for (const auto& w : spellings_) {
    if (written(generated, w)) continue;
    // The longest k < |w| such that the last k tokens written are w's first k: then w's
    // token k comes next. With none, the word's first token.
    size_t k = std::min(w.size() - 1, generated.size());
    for (; k > 0; --k)
      if (std::equal(w.begin(), w.begin() + long(k), generated.end() - long(k))) break;
    logits[w[k]] += k > 0 ? next_ : start_;
  }
}

}  // namespace slm::align
