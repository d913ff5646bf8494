#include "slm/align/flaws.h"

#include <algorithm>
#include <map>
#include <set>

#include "slm/eval/spelling.h"
#include "slm/eval/text_metrics.h"
#include "slm/stories/story_checks.h"
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

// The words as the spelling metric reads a text (eval::word_spans), each with its lower case.
std::vector<Word> words_with_places(std::string_view text) {
  std::vector<Word> out;
  for (const eval::WordSpan& s : eval::word_spans(text)) {
    Word w{s.begin, s.end, {}};
    for (size_t k = s.begin; k < s.end; ++k) w.lower.push_back(ascii_lower(text[k]));
    out.push_back(std::move(w));
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

std::set<std::string> FlawFinder::request_words(std::string_view request) const {
  std::set<std::string> out;
  for (const auto& w : words_with_places(request))
    for (auto& f : stories::required_word_forms(w.lower, stories::Vocabulary::shared())) out.insert(std::move(f));
  return out;
}

std::vector<Flaw> FlawFinder::find(std::string_view text, const std::set<std::string>& asked) const {
  // A form of a request's word, or its possessive ("zorp's"), as the words rule reads it.
  auto was_asked = [&](const std::string& w) {
    return asked.count(w) || (w.size() > 2 && w.compare(w.size() - 2, 2, "'s") == 0 && asked.count(w.substr(0, w.size() - 2)));
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
