#pragma once
// Spelling by Hunspell with Debian's en_US dictionary (hunspell-en-us): the share of a
// story's words that Hunspell does not know.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

class Hunspell;

namespace slm::eval {

// A word as the spelling check reads a text: ASCII letters and the apostrophes inside them
// (a closing apostrophe is not the word's), by its byte range [begin, end).
struct WordSpan {
  size_t begin = 0, end = 0;
};
std::vector<WordSpan> word_spans(std::string_view text);

class SpellChecker {
 public:
  // Opens dir/en_US.aff and dir/en_US.dic; throws slm::Error naming the missing file.
  explicit SpellChecker(const std::string& dir = "/usr/share/hunspell");
  ~SpellChecker();
  bool known(const std::string& word) const;
  // Words (as written, letters and apostrophes) that Hunspell does not know.
  std::vector<std::string> misspelled(const std::string& text) const;

 private:
  std::unique_ptr<Hunspell> h_;
};

}  // namespace slm::eval
