#include "slm/eval/spelling.h"

#include <hunspell/hunspell.hxx>

#include <filesystem>

#include "slm/util/error.h"
#include "slm/util/text.h"

namespace slm::eval {

SpellChecker::SpellChecker(const std::string& dir) {
  for (const char* ext : {".aff", ".dic"})
    if (!std::filesystem::exists(dir + "/en_US" + ext))
      throw Error("no Hunspell dictionary (install Debian's hunspell-en-us)", dir + "/en_US" + ext);
  h_ = std::make_unique<Hunspell>((dir + "/en_US.aff").c_str(), (dir + "/en_US.dic").c_str());
}

SpellChecker::~SpellChecker() = default;

bool SpellChecker::known(const std::string& word) const { return h_->spell(word); }

std::vector<WordSpan> word_spans(std::string_view text) {
  std::vector<WordSpan> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_ascii_alpha(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && (is_ascii_alpha(text[j]) || text[j] == '\'')) ++j;
    size_t end = j;
    while (text[end - 1] == '\'') --end;  // stops at the first letter, text[i]
    out.push_back({i, end});
    i = j;
  }
  return out;
}

std::vector<std::string> SpellChecker::misspelled(const std::string& text) const {
  std::vector<std::string> out;
  for (const WordSpan& s : word_spans(text)) {
    std::string w = text.substr(s.begin, s.end - s.begin);
    if (!h_->spell(w)) out.push_back(std::move(w));
  }
  return out;
}

}  // namespace slm::eval
