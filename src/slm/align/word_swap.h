#pragma once
// Minimal pairs for the required words: two stories that differ only in whether they use
// the words the request asked for, so that a preference between them (slm align
// preferences, then DPO) can only be learned from the request, where a whole-story pair
// spreads it over hundreds of other differences. Two ways to make one:
//  - swap_required_words: a story that uses them (the data's reference), and the same
//    story with each swapped for another word of its kind ("octopus" -> "kitten", "tied"
//    -> "hugged", "an octopus" -> "a kitten");
//  - use_required_words: a story that does not (the model's own), and the same story with
//    a word of each one's kind it does use swapped for it: the contrast at the places the
//    model itself writes, not the reference's.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/stories/vocabulary.h"

namespace slm::align {

// text with every use of each required word (any inflection the words rule counts)
// replaced by a word of the same kind in the same form: a noun by a noun of its kind (in
// the same number), a verb by a verb (base, -s, past or -ing), an adjective by an
// adjective; the word's capital and a preceding "a"/"an" follow. A word is swapped the
// same way everywhere; none of `words` is ever put in. seed picks the new words. Returns
// text unchanged when it uses none of the words.
std::string swap_required_words(const std::string& text, const std::vector<std::string>& words,
                                const stories::Vocabulary& vocab, uint64_t seed);

// text with, for each required word it does not use, a word of the same kind it does use
// (a noun of the same kind: a toy for a toy, else one as alive or not: a toy for a cake,
// an animal for a person, a place only for a place; a verb in its past or -ing form that takes
// an object when this one does; an adjective) replaced everywhere by the required word in
// the same form: the earliest such word not itself required, each used for one required
// word. Capitalised words (names, sentence openers) and "named"/"called" are not taken. A
// required word with no word of its kind in text is left out. first_uses_end, if given, is
// set to where in `text` the last replaced word's first use ends (0: nothing replaced):
// the prefix up to there holds every decision the edit changed.
std::string use_required_words(const std::string& text, const std::vector<std::string>& words,
                               const stories::Vocabulary& vocab, size_t* first_uses_end = nullptr);

}  // namespace slm::align
