#pragma once
// The word lists the story grammar ({~list} slots) and the clause builder draw fresh
// words from: short nouns by kind (singular and plural), short adjectives for things and
// for beings, and verbs a being can be seen doing, each with its past and -ing form.
#include <string>
#include <string_view>
#include <vector>

#include "slm/stories/grammar.h"
#include "slm/stories/vocabulary.h"

namespace slm::stories {

// The lists, in the order of kListNames. Singular lists hold count nouns only, so that
// "{a} {~thing}" never reads "a sand"; plural lists hold count plurals and mass nouns.
enum List {
  kLAnimal, kLAnimals, kLThing, kLThings, kLToy, kLToys, kLFood, kLFoods, kLNature, kLNatures, kLPerson, kLTadj,
  kLBadj, kLVi, kLVied, kLVing, kLVt, kLVted, kLVting, kLPlace, kNumLists
};
extern const std::vector<std::string> kListNames;  // "animal", "animals", ... as the grammar writes them

// The longest words, in syllables, of the word lists and the plan's recurring words;
// adjectives, which come in pairs and runs ("a shiny red ball"), are kept shorter.
constexpr int kListSyllables = 2, kAdjectiveSyllables = 1;

// Vowel groups, less a silent final e: close enough to tell short words from long ones.
int syllables(std::string_view w);

// The lists from a vocabulary; throws slm::Error when one of them would be empty.
Grammar::WordLists word_lists(const Vocabulary& v);

}  // namespace slm::stories
