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

std::vector<std::string> SpellChecker::misspelled(const std::string& text) const {
  std::vector<std::string> out;
  std::string w;
  auto flush = [&] {
    while (!w.empty() && w.back() == '\'') w.pop_back();
    if (!w.empty() && !h_->spell(w)) out.push_back(w);
    w.clear();
  };
  for (char c : text) {
    if (is_ascii_alpha(c) || (c == '\'' && !w.empty()))
      w.push_back(c);
    else
      flush();
  }
  flush();
  return out;
}

}  // namespace slm::eval
