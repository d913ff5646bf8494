#pragma once
// Spelling by Hunspell with Debian's en_US dictionary (hunspell-en-us): the share of a
// story's words that Hunspell does not know.
#include <memory>
#include <string>
#include <vector>

class Hunspell;

namespace slm::eval {

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
