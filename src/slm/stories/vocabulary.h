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
  bool mass;           // "some milk", never "a milk"
  std::string plural;  // "two mice"; the word itself for a mass noun
};

struct Verb {
  std::string base, past;
  bool transitive;  // takes an object: "to hug it"
  std::string ing;  // "running", derived from base and past
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

  // The built-in vocabulary (a fresh copy, parsed from the embedded files).
  static Vocabulary builtin();
  // The built-in vocabulary, parsed once for the whole program (thread-safe): for the
  // checks that only read it (required words in any form, child-vocabulary share).
  static const Vocabulary& shared();
  // The same files from a folder (animals.txt, ..., verbs.txt, adjectives.txt, names.txt).
  static Vocabulary from_dir(const std::string& dir);

  // Distinct entries (case-insensitive) over all lists.
  size_t distinct_words() const;
};

// The plural of a noun (of its last word: "bus drivers"): the regular spelling rules and
// the irregular plurals a child meets ("mice", "leaves", "children", "sheep").
std::string plural_of(std::string_view noun);

// The -ing form of a verb: a past form that doubles the last consonant ("hopped") says
// the -ing form doubles it too; otherwise the usual rules ("make" -> "making",
// "tie" -> "tying", "run" -> "running").
std::string ing_form(std::string_view base, std::string_view past);

// a or an for a word ("an apple", "a unicorn", "an hour").
const char* indefinite_article(std::string_view word);

}  // namespace slm::stories
