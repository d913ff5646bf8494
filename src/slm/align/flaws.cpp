#include "slm/align/flaws.h"

#include <algorithm>
#include <map>
#include <set>

#include "slm/eval/spelling.h"
#include "slm/eval/text_metrics.h"
#include "slm/stories/vocabulary.h"
#include "slm/util/text.h"

namespace slm::align {

namespace {

constexpr size_t kLoopWords = 30;  // a 4-gram's third time within this many words is a loop

bool only_spaces(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' '; });
}

struct Word {
  size_t begin, end;
  std::string lower;
};

// Letters and apostrophes inside a word, as the spelling metric reads a text
// (eval::SpellChecker::misspelled), with each word's place.
std::vector<Word> words_with_places(std::string_view text) {
  std::vector<Word> out;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_ascii_alpha(text[i])) { ++i; continue; }
    size_t j = i;
    while (j < text.size() && (is_ascii_alpha(text[j]) || text[j] == '\'')) ++j;
    size_t end = j;
    while (end > i && text[end - 1] == '\'') --end;  // a closing quote is not the word's
    Word w{i, end, {}};
    for (size_t k = i; k < end; ++k) w.lower.push_back(ascii_lower(text[k]));
    out.push_back(std::move(w));
    i = j;
  }
  return out;
}

}  // namespace

FlawFinder::FlawFinder(const std::string& hunspell_dir)
    : spell_(std::make_unique<eval::SpellChecker>(hunspell_dir)),
      child_(std::make_unique<eval::ChildVocabulary>(stories::Vocabulary::shared())) {
  // The irregular plurals the generator writes ("dwarves"), which neither Hunspell nor the
  // child vocabulary's regular forms know.
  for (const auto& n : stories::Vocabulary::shared().nouns)
    for (const auto& w : words_with_places(n.plural)) plurals_.insert(w.lower);
}

FlawFinder::~FlawFinder() = default;

std::vector<Flaw> FlawFinder::find(std::string_view text, std::string_view request) const {
  std::set<std::string> asked;
  for (const auto& w : words_with_places(request)) asked.insert(w.lower);
  // The request's words in the forms the words rule counts ("zorps", "zorp's", "zorped").
  auto was_asked = [&](const std::string& w) {
    if (asked.count(w)) return true;
    for (const char* suf : {"'s", "s", "es", "d", "ed", "ing"}) {
      const size_t n = std::char_traits<char>::length(suf);
      if (w.size() > n && w.compare(w.size() - n, n, suf) == 0 && asked.count(w.substr(0, w.size() - n))) return true;
    }
    return false;
  };
  const auto words = words_with_places(text);
  std::map<std::string, std::vector<size_t>> said;  // a 4-gram (lower case, joined) -> where it ended
  std::vector<Flaw> out;
  for (size_t i = 0; i < words.size(); ++i) {
    const Word& w = words[i];
    const char* kind = nullptr;
    if (!was_asked(w.lower) && !child_->contains(w.lower) && !plurals_.count(w.lower) &&
        !spell_->known(std::string(text.substr(w.begin, w.end - w.begin))))
      kind = "misspelled";
    else if (i > 0 && w.lower == words[i - 1].lower && w.lower != "had" && w.lower != "that" &&
             only_spaces(text.substr(words[i - 1].end, w.begin - words[i - 1].end)))
      kind = "doubled";  // not "It. It" or "yo-yo"
    if (i >= 3) {
      // A loop is local: the generator's own stories say a 4-gram three times in a story
      // ("Andy saw a cloth"), never three times within kLoopWords words.
      const std::string gram = words[i - 3].lower + ' ' + words[i - 2].lower + ' ' + words[i - 1].lower + ' ' + w.lower;
      auto& ends = said[gram];
      const auto near = std::count_if(ends.begin(), ends.end(), [&](size_t e) { return i - e <= kLoopWords; });
      if (near >= 2 && !kind) kind = "loop";
      ends.push_back(i);
    }
    if (kind) out.push_back({w.begin, w.end, kind});
  }
  return out;
}

}  // namespace slm::align
