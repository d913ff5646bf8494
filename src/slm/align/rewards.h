#pragma once
// Rule rewards for reinforcement learning on the story world's requests: each rule scores
// one completion from 0 to 1 by a check the rest of slm already trusts (the generator's
// story_checks, the evaluation's story metrics and answer normalisation, Hunspell), and
// the reward is their weighted mean over the rules that apply to the request, times the
// "gate" rules' scores. Gates are what keeps the reward from being hacked: a list of the
// required words with no story is too short (the length gate), and padding it out by
// repeating itself is caught by the repetition gate, so neither can come near the reward
// of a real story.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/stories/instruct.h"
#include "slm/stories/vocabulary.h"

namespace slm::align {

// The rules, by name (the keys of "weights" in a reward config):
//   words       share of the required words used (any inflection), each counted only in a
//               sentence with at least two other words (writing requests)
//   features    share of the requested features the story shows (writing requests)
//   answer      the answer to a question: 1 exact, 0.7 contained in a longer reply
//   length      words in range (stories and questions have their own ranges)
//   repetition  1 - 2 x the share of 4-grams that repeat an earlier one
//   child_vocab share of words in the child vocabulary (stories)
//   grammar     1 - 5 x errors a word (Hunspell spelling, a/an, doubled words, pronouns,
//               an unfinished last sentence)
//   eot         the completion ended with the end-of-text token
//   judge       an LLM judge's grades (any OpenAI-compatible endpoint), cached
const std::vector<std::string>& reward_rule_names();

// The task of a plain story beginning (GRPO's --story-share): the model continues the text
// as it is, without the instruction template, and the story rules score it (length in the
// story range, repetition, child vocabulary, grammar, end-of-text).
inline constexpr const char* kStoryBeginningTask = "story_beginning";
// Throws an Error naming `origin` (and the nearest rule) unless `name` is one of them.
void require_reward_rule(const std::string& name, const std::string& origin);

// Where a completion first uses each required word the way the `words` rule counts it
// (in a sentence with at least two words besides the required ones): the byte range
// [begin, end) in text of that use (begin == end where the span could not be placed).
// The words rule's score is the share used; GRPO's --word-credit credits those bytes' tokens.
struct WordUse {
  bool used = false;
  size_t begin = 0, end = 0;
};
std::vector<WordUse> required_word_uses(const std::string& text, const std::vector<std::string>& words,
                                        const stories::Vocabulary& vocab);

struct RewardConfig {
  std::map<std::string, double> weights = {{"words", 2.0},   {"features", 1.0},   {"answer", 2.0},
                                           {"length", 0.5},  {"repetition", 0.5}, {"child_vocab", 0.25},
                                           {"grammar", 0.5}, {"eot", 0.5},        {"judge", 0.0}};
  std::vector<std::string> gates = {"length", "repetition"};  // multiply the weighted mean
  int story_min_words = 50, story_max_words = 350;             // writing requests
  int other_min_words = 5, other_max_words = 200;              // summaries, continuations, morals
  int answer_min_words = 1, answer_max_words = 12;             // questions
  std::string hunspell_dir = "/usr/share/hunspell";
  // The judge (used when weights["judge"] > 0): an OpenAI-compatible API base and model.
  std::string judge_url, judge_model, judge_cache;

  // From a JSON object with any of: "weights" {rule: w}, "gates" [rules], "story_words"
  // [min, max], "other_words", "answer_words", "hunspell_dir", "judge" {url, model, cache}.
  // An unknown key or rule, a negative weight or a bad range is an error naming origin and the field.
  static RewardConfig from_json(const nlohmann::json& j, const std::string& origin);
  static RewardConfig from_file(const std::string& path);
  nlohmann::json to_json() const;
};

// One completion's scores: by rule (only the rules that apply), and the total.
struct Reward {
  std::map<std::string, double> rules;
  double total = 0;
};

class RewardModel {
 public:
  explicit RewardModel(const RewardConfig& cfg);
  ~RewardModel();
  // finished_eot: the completion ended with the end-of-text token (not cut at a limit).
  Reward score(const stories::InstructRecord& request, const std::string& completion, bool finished_eot) const;
  // Many at once; with a judge configured, its grades are asked for all together (cached).
  std::vector<Reward> score_all(const std::vector<const stories::InstructRecord*>& requests,
                                const std::vector<std::string>& completions, const std::vector<bool>& eot) const;
  const RewardConfig& config() const { return cfg_; }

 private:
  struct Impl;
  RewardConfig cfg_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slm::align
