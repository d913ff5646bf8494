#pragma once
// The TinyStories-style story generator. As in TinyStories (Eldan & Li, 2023), every
// story must use a randomly drawn noun, verb and adjective from a child vocabulary and
// carries a random subset of six features that visibly shape it. The text comes from
// the template grammar in assets/story.txt, filled from a plan of characters and words
// drawn first, so names, kinds and pronouns stay consistent through a story.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "slm/stories/grammar.h"
#include "slm/stories/vocabulary.h"

namespace slm::stories {

enum class Feature { Dialogue, BadEnding, MoralValue, PlotTwist, Foreshadowing, Conflict };
constexpr int kFeatures = 6;
const char* feature_name(Feature f);  // "Dialogue", "BadEnding", ...

struct Character {
  std::string name;
  Gender gender;
  std::string kind;   // "girl", "boy", or an animal
  std::string trait;  // an adjective for a being: "shy", "brave"; the text shows it
};

// What a story is about, drawn before any text is written.
struct StoryPlan {
  const Noun* noun;  // the required words
  const Verb* verb;
  const Adjective* adjective;
  std::vector<Feature> features;
  Character main, friend_;
  std::string parent;  // "mom", "dad", "grandma" or "grandpa"
  std::string arc;     // find, lost, want, broken, help
  const Noun* object;  // the key object of the arc
  std::string place, animal, person, nature;
  const Noun* food;  // what the characters eat or bring along
  const Noun* toy;   // the main character's favorite toy
  bool has(Feature f) const;
  Gender parent_gender() const { return parent == "mom" || parent == "grandma" ? Gender::Female : Gender::Male; }
};

struct Story {
  std::string text;                // paragraphs separated by a blank line
  std::string summary;             // one sentence, present tense
  std::string sentence;            // one sentence taken from the story
  std::string prompt;              // the instruction, worded as TinyStories' prompts
  std::vector<std::string> words;  // the required noun, verb and adjective
  StoryPlan plan;
};

class StoryGenerator {
 public:
  // The built-in vocabulary and grammar, or those given.
  StoryGenerator();
  StoryGenerator(Vocabulary vocab, std::string_view grammar_text);

  // Story number `index` of the stream for `seed`: the same pair always gives the same
  // story, so generation can be split across threads and resumed.
  Story generate(uint64_t seed, uint64_t index) const;
  // The same story with its plan changed before any text is written (e.g. without its
  // bad ending): the text follows the same random draws as far as the plans agree.
  Story generate(uint64_t seed, uint64_t index, const std::function<void(StoryPlan&)>& edit_plan) const;

  const Vocabulary& vocabulary() const { return vocab_; }

 private:
  StoryPlan draw_plan(Rng& rng) const;
  std::string write_text(const StoryPlan& plan, Rng& rng, std::string_view* slots) const;

  Vocabulary vocab_;
  // Indices of the short words (two syllables at most) the plan draws its recurring
  // words from: names, kinds, traits, the object, the place... A required word may be
  // long; the words repeated in every paragraph are kept easy to read.
  struct ShortWords {
    std::array<std::vector<int>, kNounKinds> nouns_of_kind;
    std::vector<int> being_adjectives, names;
  } short_;
  Grammar::WordLists lists_;  // the {~list} words of the grammar, drawn from vocab_
  Grammar grammar_;
};

// The text after the finishing pass: every {a} marker (byte 0x01) becomes "a" or "an"
// for the word that follows, and the first letter of every sentence is a capital.
void finish_text(std::string& text);

// Splits a story into sentences (quotes kept with the sentence they belong to).
std::vector<std::string> split_sentences(std::string_view text);

}  // namespace slm::stories
