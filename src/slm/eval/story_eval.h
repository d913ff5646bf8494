#pragma once
// Stories a model writes, scored by plain numbers (text_metrics.h, Hunspell): from story
// beginnings it has not seen (the first sentences of fresh generated stories), and from
// TinyStories-Instruct-style requests (required words and features), worded as Alpaca
// instructions when the model folder carries the template.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::eval {

struct StoryPrompt {
  std::string prompt;                 // what the model is given (after any template)
  std::string beginning;              // the story's given beginning ("" for requests)
  std::vector<std::string> words;     // requests: required words
  std::vector<std::string> features;  // requests: required features
};

// n beginnings and n requests drawn from the story generator with a seed no training
// corpus of the quickstart uses. templated: requests as Alpaca prompts.
std::vector<StoryPrompt> builtin_story_prompts(int n, uint64_t seed, bool templated);
// The beginnings alone: the first sentences of n stories the generator makes from seed.
std::vector<std::string> builtin_story_beginnings(int n, uint64_t seed);
// The generator seeds of the built-in prompts the evaluations use: `slm eval` with --seed
// s, and the before/after evaluation of the alignment runs (align/before_after.cpp).
inline uint64_t eval_story_seed(uint64_t seed) { return seed * 7919 + 1000003; }
inline constexpr uint64_t kBeforeAfterStorySeed = 1234;

struct StoryEvalOptions {
  int max_tokens = 300;
  float temperature = 0.7f;
  int top_k = 40;
  uint64_t seed = 1;
  std::string train_text;  // a text/JSONL corpus whose 4-grams count as seen (novelty); optional
  bool quiet = false;
};

struct StoryEval {
  nlohmann::json metrics;              // the aggregates, by name
  std::vector<nlohmann::json> samples; // each prompt, story and its numbers
};

// The model writes a story for each prompt; each is scored by score_stories.
StoryEval eval_stories(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                       const std::vector<StoryPrompt>& prompts, const StoryEvalOptions& opt);

// Scores stories already written, by the model or by anyone: stories[i] answers
// prompts[i], or prompts is empty (stories someone wrote, with no prompt to answer).
// train_text: as in StoryEvalOptions. No model is needed.
StoryEval score_stories(const std::vector<StoryPrompt>& prompts, const std::vector<std::string>& stories,
                        const std::string& train_text = {});

}  // namespace slm::eval
