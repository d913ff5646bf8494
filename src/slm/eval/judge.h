#pragma once
// LLM-as-a-judge, as TinyStories graded its models: a strong model reads a story's given
// beginning and the model's completion, separated by ***, and grades grammar,
// creativity, consistency and plot from 1 to 10 and guesses the writer's age group (A:
// 3 or under ... F: 13-16). The judge is any OpenAI-compatible chat-completions
// endpoint (OpenAI, llama.cpp's server, Ollama, vLLM). Malformed replies are asked again
// and then recorded as failed, never scored by guess; 429 and 5xx are retried with
// backoff; judgments are cached by prompt so a rerun asks only what is new.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/eval/chat_client.h"

namespace slm::eval {

// The endpoint and how to ask it (chat_client.h); the judge asks at temperature 0.
using JudgeOptions = ChatClientOptions;

struct Judgment {
  bool ok = false;
  int grammar = 0, creativity = 0, consistency = 0, plot = 0;
  std::string age_group;  // "A".."F"
  std::string reply;      // the judge's text (the last one, when it failed)
  std::string error;      // why it failed
  int attempts = 0;
  bool cached = false;
};

// The TinyStories grading prompt for one beginning and completion.
std::string judge_prompt(const std::string& beginning, const std::string& completion);

// Reads the grades from a reply; nullopt when any grade is missing or out of range.
std::optional<Judgment> parse_judgment(const std::string& reply);

// Judges every (beginning, completion) pair; results in the same order.
std::vector<Judgment> judge_stories(const std::vector<std::pair<std::string, std::string>>& stories,
                                    const JudgeOptions& opt, bool quiet = false);

nlohmann::json judgment_json(const Judgment& j);

}  // namespace slm::eval
