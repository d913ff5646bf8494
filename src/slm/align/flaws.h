#pragma once
// The flaws a reader sees in one word of a story, as places in its text: GRPO's
// --flaw-debit gives the tokens that spell them a negative advantage of their own, the
// mirror of --word-credit (docs/alignment.md, item 17). Three kinds, the ones the story
// metrics count and word-credit GRPO was measured to add (item 15):
//   misspelled  a word Hunspell does not know, unless the story world knows it (a
//               generator name, a child-vocabulary word in a regular form, a noun's
//               plural) or it is a word of the request in a form the words rule counts:
//               made-up nouns such as "graagle" or "wobthog"
//   doubled     a word written twice in a row, only spaces between ("shop shop"; not
//               "had had", "that that", "It. It", "yo-yo")
//   loop        a word that closes a 4-gram the text has already said twice in the last
//               30 words
// The sequence rules (grammar, repetition) see these only as a small share of a story's
// words; placed on their own tokens, a penalty says which tokens were wrong.
#include <cstddef>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace slm::eval {
class SpellChecker;
class ChildVocabulary;
}  // namespace slm::eval

namespace slm::align {

struct Flaw {
  size_t begin = 0, end = 0;  // byte range [begin, end) of the word in the text
  const char* kind = "";      // "misspelled", "doubled" or "loop"
};

class FlawFinder {
 public:
  // Opens dir/en_US.{aff,dic}; throws slm::Error naming a missing file.
  explicit FlawFinder(const std::string& hunspell_dir = "/usr/share/hunspell");
  ~FlawFinder();
  // The words of a request in every form the words rule counts (stories::required_word_forms,
  // lower case): what find() never calls misspelled, since copying the request is not a flaw.
  // Once a request: every completion of its group shares them.
  std::set<std::string> request_words(std::string_view request) const;
  // The flawed words of text in order, each once (the first kind that applies).
  std::vector<Flaw> find(std::string_view text, const std::set<std::string>& request_words = {}) const;

 private:
  std::unique_ptr<eval::SpellChecker> spell_;
  std::unique_ptr<eval::ChildVocabulary> child_;
  std::set<std::string> plurals_;  // the vocabulary's plurals, lower case
};

}  // namespace slm::align
