#pragma once
// Checks that read a story's text the way the story generator writes it: whether a
// required word is used (in any of its forms) and whether a feature visibly shapes the
// story. The generator's tests hold it to these, and evaluation scores a model's
// stories with the same checks, so "the model used the word" means what the data means.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "slm/stories/story.h"
#include "slm/stories/vocabulary.h"

namespace slm::stories {

// Case-insensitive whole-word (or whole-phrase) search.
bool contains_word(std::string_view text, std::string_view word);
// Where it does: the byte ranges [begin, end) of its whole-word occurrences.
std::vector<std::pair<size_t, size_t>> word_spans(std::string_view text, std::string_view word);

// The word itself or a regular inflection of it (-s, -es, -ed, -d, -ing, a dropped e or
// a doubled consonant before -ing/-ed), or the past and -ing forms the vocabulary gives a
// verb ("tied", "tying").
bool uses_required_word(std::string_view text, std::string_view word, const Vocabulary& vocab);
std::vector<std::string> required_word_forms(std::string_view word, const Vocabulary& vocab);
// The byte ranges of every use of the word in any of those forms, in order.
std::vector<std::pair<size_t, size_t>> required_word_spans(std::string_view text, std::string_view word,
                                                           const Vocabulary& vocab);

// The visible marks of a feature, as the grammar writes them (quoted speech, a sad
// ending, a moral at the end, a surprise, an early hint, a quarrel).
bool shows_feature(std::string_view text, Feature f);

std::optional<Feature> feature_from_name(std::string_view name);  // "Dialogue", ...

// A story's paragraphs (split at blank lines).
std::vector<std::string> paragraphs_of(std::string_view text);

}  // namespace slm::stories
