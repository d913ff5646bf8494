#pragma once
// Plain-number story metrics that need no other model: age appropriateness (child
// vocabulary share, Flesch-Kincaid grade, sentence length), grammar checks the story
// world allows (a/an agreement, doubled words, an unfinished last sentence, pronouns that
// fit a character's name), and diversity over a set of stories (distinct-n, self-BLEU,
// repeated and novel 4-grams).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "slm/stories/vocabulary.h"

namespace slm::eval {

// Lower-case words (letters and apostrophes) in order.
std::vector<std::string> words_of(std::string_view text);

// Syllables of an English word by the usual vowel-group count (silent final e, -le).
int syllables(std::string_view word);

struct StoryMetrics {
  int words = 0, sentences = 0;
  double child_vocab_share = 0;  // words in the child vocabulary or a list of function words
  double fk_grade = 0;           // Flesch-Kincaid grade level
  double sentence_length = 0;    // words a sentence
  bool unfinished = false;       // the last sentence has no closing punctuation
  int doubled_words = 0;         // "the the"
  int article_errors = 0;        // "a apple", "an ball"
  int pronoun_checks = 0, pronoun_errors = 0;  // "Tom ... She" after a sentence about a known name
  double repeated_4grams = 0;    // share of 4-grams that occur earlier in the same story
};

class ChildVocabulary {
 public:
  explicit ChildVocabulary(const stories::Vocabulary& v);
  bool contains(const std::string& lower_word) const;
  // The gender of a known first name (lower case), or -1.
  int gender_of(const std::string& lower_name) const;

 private:
  std::unordered_set<std::string> words_;
  std::unordered_set<std::string> female_, male_;
};

StoryMetrics story_metrics(std::string_view text, const ChildVocabulary& vocab);

// distinct-n: distinct n-grams / all n-grams over the set (Li et al., 2016).
double distinct_n(const std::vector<std::vector<std::string>>& docs, int n);

// Self-BLEU (Zhu et al., 2018): the mean BLEU-4 of each document against the others as
// references (up to max_docs documents, for time).
double self_bleu(const std::vector<std::vector<std::string>>& docs, size_t max_docs = 200);

// Hashes of the 4-grams of a corpus, to tell generated 4-grams seen in training from new ones.
void add_4grams(const std::vector<std::string>& words, std::unordered_set<uint64_t>& set);
double novel_4gram_share(const std::vector<std::vector<std::string>>& docs, const std::unordered_set<uint64_t>& seen);

}  // namespace slm::eval
