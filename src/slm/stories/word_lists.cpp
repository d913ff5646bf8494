#include "slm/stories/word_lists.h"

#include <algorithm>
#include <set>

#include "slm/util/error.h"

namespace slm::stories {

const std::vector<std::string> kListNames = {"animal", "animals", "thing", "things", "toy",  "toys", "food",
                                             "foods",  "nature",  "natures", "person", "tadj", "badj", "vi",
                                             "vied",   "ving",    "vt",      "vted",   "vting", "place"};

int syllables(std::string_view w) {
  auto vowel = [](char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; };
  int n = 0;
  for (size_t i = 0; i < w.size(); ++i) n += vowel(w[i]) && (i == 0 || !vowel(w[i - 1]));
  if (w.size() > 2 && w.back() == 'e' && !vowel(w[w.size() - 2]) && w[w.size() - 2] != 'l') --n;
  return std::max(n, 1);
}

// The word lists from the vocabulary. Singular lists hold count nouns only, so that
// "{a} {~thing}" never reads "a sand"; plural lists hold count plurals and mass nouns
// ("apples", "milk"). Words of more than kListSyllables syllables stay out of the lists
// (they can still be a story's required word): the many fresh words must not lift the
// reading grade above what a young child reads.
Grammar::WordLists word_lists(const Vocabulary& v) {
  Grammar::WordLists l(kNumLists);
  auto short_word = [](const std::string& w) { return syllables(w) <= kListSyllables; };
  // "{~tadj} {~thing}" must not read "a high high chair": nouns that begin with an
  // adjective stay out of the lists.
  std::set<std::string> adjectives;
  for (const auto& a : v.adjectives) adjectives.insert(a.word);
  auto starts_with_adjective = [&](const std::string& noun) {
    size_t space = noun.find(' ');
    return space != std::string::npos && adjectives.count(noun.substr(0, space)) > 0;
  };
  auto nouns = [&](NounKind k, List one, List many) {
    for (int i : v.nouns_of_kind[int(k)]) {
      const Noun& n = v.nouns[size_t(i)];
      if (!short_word(n.word) || starts_with_adjective(n.word)) continue;
      if (!n.mass) l[one].push_back(n.word);
      l[many].push_back(n.plural);
    }
  };
  nouns(NounKind::Animal, kLAnimal, kLAnimals);
  nouns(NounKind::Thing, kLThing, kLThings);
  nouns(NounKind::Toy, kLToy, kLToys);
  nouns(NounKind::Food, kLFood, kLFoods);
  nouns(NounKind::Nature, kLNature, kLNatures);
  for (int i : v.nouns_of_kind[int(NounKind::Place)])  // "to the barn", "at the zoo"
    if (short_word(v.nouns[size_t(i)].word) && !starts_with_adjective(v.nouns[size_t(i)].word))
      l[kLPlace].push_back(v.nouns[size_t(i)].word);
  auto add = [&](List list, const std::string& w) {
    if (short_word(w)) l[list].push_back(w);
  };
  for (int i : v.nouns_of_kind[int(NounKind::Person)]) add(kLPerson, v.nouns[size_t(i)].word);
  auto add_adjective = [&](List list, const std::string& w) {
    if (syllables(w) <= kAdjectiveSyllables) l[list].push_back(w);
  };
  for (int i : v.thing_adjectives) add_adjective(kLTadj, v.adjectives[size_t(i)].word);
  for (int i : v.being_adjectives) add_adjective(kLBadj, v.adjectives[size_t(i)].word);
  // What a being can be seen doing: not weather, not what only things do.
  static const std::set<std::string> not_done_by_beings = {
      "rain", "snow", "thunder", "happen", "seem", "become", "stay", "remain", "exist", "occur", "matter", "belong", "depend", "rely", "last", "sound", "appear",
      "end", "care", "dwell", "retire", "overflow", "burst", "freeze", "melt", "rise", "sink", "shrink", "fade",
      "drip", "rot", "ripen", "sprout", "blossom", "thaw", "dissolve", "collapse", "swell", "choke", "drown",
      "shatter", "glow", "shine", "sparkle", "glitter", "gleam", "glisten", "twinkle", "tick", "chime", "fizz",
      "spark", "flow", "gush", "boom", "clink", "tinkle", "creak", "crumble", "topple", "echo", "pray", "itch"};
  // Nor sad doings: a fresh verb must not turn a happy ending into a sad one ("so he cried").
  static const std::set<std::string> sad = {"cry", "weep", "sob", "whimper", "wail", "mourn", "grieve", "sulk", "die"};
  for (const auto& verb : v.verbs) {
    if ((!verb.transitive && not_done_by_beings.count(verb.base)) || sad.count(verb.base) || !short_word(verb.base))
      continue;
    const int first = verb.transitive ? kLVt : kLVi;  // base, past and -ing lists in a row
    l[size_t(first)].push_back(verb.base), l[size_t(first) + 1].push_back(verb.past), l[size_t(first) + 2].push_back(verb.ing);
  }
  for (int k = 0; k < kNumLists; ++k)
    if (l[k].empty()) throw Error("the vocabulary has no words for the story grammar's {~" + kListNames[k] + "}");
  return l;
}

}  // namespace slm::stories
