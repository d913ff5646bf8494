#pragma once
// A client for any OpenAI-compatible chat-completions endpoint (OpenAI, llama.cpp's
// server, Ollama, vLLM, slm serve), for asking many prompts: several requests in flight,
// 429 and 5xx retried with backoff, replies the caller cannot use asked again and then
// recorded as failed (never guessed), and a JSONL cache of replies so a rerun asks only
// what is new. The LLM judge (judge.h) and the distillation teachers (distill/) use it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace slm::eval {

struct ChatClientOptions {
  std::string url;         // the API base, e.g. http://127.0.0.1:8080/v1 (…/chat/completions is added)
  std::string model;       // the model's name
  std::string api_key;     // sent as a Bearer token when set
  int concurrency = 4;     // requests in flight at most
  int attempts = 4;        // tries per prompt (transport errors, 429, 5xx, unusable replies)
  double backoff_s = 0.5;  // first wait between tries, doubled each time
  int timeout_s = 120;
  std::string cache_path;  // JSONL of {key, reply}; empty: no cache
  std::string url_flag = "--judge-url";  // the flag named in a bad-URL error
};

struct ChatRequest {
  std::string prompt;        // one user message
  double temperature = 0;
  int max_tokens = 0;        // 0: the server's default
  uint64_t sample = 0;       // > 0: a distinct sample of the same prompt (cached apart, sent as "seed")
};

struct ChatReply {
  bool ok = false;
  std::string reply;  // the text (the last one, when it failed)
  std::string error;  // why it failed
  int attempts = 0;
  bool cached = false;
};

// Asks every request; replies in the same order. usable(reply) says whether a reply can
// be used (an unusable one is asked again); only usable replies are cached.
std::vector<ChatReply> ask_all(const std::vector<ChatRequest>& requests, const ChatClientOptions& opt,
                               const std::function<bool(const std::string&)>& usable, const std::string& label,
                               bool quiet);

}  // namespace slm::eval
