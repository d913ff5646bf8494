#pragma once
// The child vocabulary of the story generator: nouns by kind, verbs with their past
// forms, adjectives, first names with gender. Kept as data files under
// src/slm/stories/assets/vocab/ (built in), or loaded from a folder of the same files.
#include <array>
#include <string>
#include <vector>

namespace slm::stories {

enum class NounKind { Animal, Person, Toy, Food, Place, Nature, Thing };
constexpr int kNounKinds = 7;
const char* noun_kind_name(NounKind k);

struct Noun {
  std::string word;
  NounKind kind;
  bool mass;  // "some milk", never "a milk"
};

struct Verb {
  std::string base, past;
  bool transitive;  // takes an object: "to hug it"
};

enum class AdjUse { Thing, Being, Both };
struct Adjective {
  std::string word;
  AdjUse use;
};

enum class Gender { Female, Male };
struct FirstName {
  std::string name;
  Gender gender;
};

struct Vocabulary {
  std::vector<Noun> nouns;
  std::array<std::vector<int>, kNounKinds> nouns_of_kind;  // indices into nouns
  std::vector<Verb> verbs;
  std::vector<Adjective> adjectives;
  std::vector<int> thing_adjectives, being_adjectives;    // indices into adjectives
  std::vector<FirstName> names;

  // The built-in vocabulary.
  static Vocabulary builtin();
  // The same files from a folder (animals.txt, ..., verbs.txt, adjectives.txt, names.txt).
  static Vocabulary from_dir(const std::string& dir);

  // Distinct entries (case-insensitive) over all lists.
  size_t distinct_words() const;
};

// a or an for a word ("an apple", "a unicorn", "an hour").
const char* indefinite_article(std::string_view word);

}  // namespace slm::stories
