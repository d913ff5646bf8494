#pragma once
// Minimal pairs for the required words: a reference story, and the same story with each
// required word swapped for another word of its kind that the request did not ask for
// ("octopus" -> "kitten", "tied" -> "hugged", "an octopus" -> "a kitten"). Everything but
// those words is the same, so a preference between the two (slm align preferences
// --rejected swap-words, then DPO) can only be learned from the request: the contrast a
// whole-story pair spreads over hundreds of other differences.
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

}  // namespace slm::align
