#include "slm/serve/text_stream.h"

#include <algorithm>
#include <utility>

namespace slm::serve {

size_t incomplete_utf8_tail(const std::string& s) {
  // Look back over at most 3 continuation bytes for the lead byte of the last character.
  for (size_t back = 1; back <= std::min<size_t>(4, s.size()); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back && c < 0xF8 ? back : 0;
  }
  return 0;  // no lead byte nearby: invalid bytes, nothing to wait for
}

std::string TextStream::release_utf8(std::string text) {
  partial_ += text;
  const size_t keep = incomplete_utf8_tail(partial_);
  std::string out = partial_.substr(0, partial_.size() - keep);
  partial_.erase(0, partial_.size() - keep);
  return out;
}

std::string TextStream::push(const std::string& piece) {
  if (stopped_) return {};
  pending_ += piece;
  for (const auto& s : stops_) {
    if (s.empty()) continue;
    const size_t at = pending_.find(s);
    if (at != std::string::npos) {
      stopped_ = true;
      std::string out = pending_.substr(0, at);
      pending_.clear();
      return release_utf8(std::move(out)) + std::exchange(partial_, {});
    }
  }
  // Hold the longest tail that is a prefix of some stop string.
  size_t keep = 0;
  for (const auto& s : stops_)
    for (size_t k = std::min(s.empty() ? 0 : s.size() - 1, pending_.size()); k > keep; --k)
      if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
        keep = k;
        break;
      }
  std::string out = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return release_utf8(std::move(out));
}

std::string TextStream::flush() {
  std::string out = std::exchange(partial_, {}) + std::exchange(pending_, {});
  return out;
}

}  // namespace slm::serve
