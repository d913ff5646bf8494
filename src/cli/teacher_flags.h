#pragma once
// The flags of a teacher endpoint, shared by slm distill generate and slm data self-instruct.
#include <cstdlib>

#include "cli/common.h"
#include "slm/eval/chat_client.h"

namespace slm::cli {

inline void add_teacher_url(CLI::App* cmd, eval::ChatClientOptions& e) {
  cmd->add_option("--teacher-url", e.url, "an OpenAI-compatible API base, e.g. http://127.0.0.1:8080/v1");
  cmd->add_option("--teacher-model", e.model, "the model name to ask for")->capture_default_str();
  cmd->add_option("--concurrency", e.concurrency, "requests in flight at most")
      ->capture_default_str()
      ->check(in_range(1, 256));
  cmd->add_option("--retries", e.attempts, "tries per request (transport errors, 429, 5xx, unusable replies)")
      ->capture_default_str()
      ->check(in_range(1, 100));
  cmd->add_option("--cache", e.cache_path, "a JSONL cache of replies: a rerun asks only what is new");
  cmd->add_option("--request-timeout", e.timeout_s, "seconds to wait for one reply")
      ->capture_default_str()
      ->check(in_range(1, 86400));
}

// The API key, from the environment (never a flag: command lines show in ps).
inline void read_teacher_key(eval::ChatClientOptions& e) {
  if (const char* key = std::getenv("SLM_TEACHER_API_KEY")) e.api_key = key;
}

}  // namespace slm::cli
