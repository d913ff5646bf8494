#include "slm/tokenizer/token_spans.h"

#include <string>

namespace slm::tokenizer {

std::vector<uint8_t> mark_token_spans(const Tokenizer& tok, const std::vector<uint32_t>& ids, std::string_view text,
                                      const std::vector<std::pair<size_t, size_t>>& ranges,
                                      const std::vector<uint8_t>& labels, bool opening_space) {
  std::vector<uint8_t> mark(ids.size(), 0);
  if (ranges.empty()) return mark;
  std::vector<size_t> begin(ids.size() + 1, 0);  // token i's bytes: [begin[i], begin[i + 1])
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) begin[i] = bytes.size(), tok.decode_append(ids[i], bytes);
  begin[ids.size()] = bytes.size();
  if (bytes != text) return mark;
  for (size_t r = 0; r < ranges.size(); ++r) {
    if (ranges[r].first >= ranges[r].second) continue;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (begin[i] < ranges[r].second && ranges[r].first < begin[i + 1]) mark[i] = labels[r];
      // A lone space token right before the range opens the word (--space-merges spells
      // a rarer word " " + its body): choosing to write it is part of writing the word.
      if (opening_space && begin[i + 1] == ranges[r].first && begin[i + 1] - begin[i] == 1 && bytes[begin[i]] == ' ')
        mark[i] = labels[r];
    }
  }
  return mark;
}

}  // namespace slm::tokenizer
