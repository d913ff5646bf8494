#pragma once
// A sequence's text on its way to a client: token pieces go in, text that is final comes
// out. Two things are held back: a tail that might be the start of a stop string (the
// client must never see part of one), and an unfinished UTF-8 character (a token can end
// inside one, and a JSON string must not).
#include <string>
#include <vector>

namespace slm::serve {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}
  // Adds a piece; returns the text that is now final. Sets stopped() at a stop string
  // (the stop string and anything after it are dropped).
  std::string push(const std::string& piece);
  // The rest, at the end of the sequence.
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::string release_utf8(std::string text);
  std::vector<std::string> stops_;
  std::string pending_;  // may begin a stop string
  std::string partial_;  // an unfinished UTF-8 character
  bool stopped_ = false;
};

// Bytes at the end of s that begin a UTF-8 character not yet complete (0 to 3).
size_t incomplete_utf8_tail(const std::string& s);

}  // namespace slm::serve
