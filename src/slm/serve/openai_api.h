#pragma once
// The OpenAI API's shapes: requests of /v1/completions and /v1/chat/completions read and
// checked field by field (a bad one is a 400 that names it), responses and stream chunks
// written as OpenAI writes them, and errors as {"error": {message, type, param, code}}.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "slm/serve/scheduler.h"

namespace slm::serve {

// An error the client gets as OpenAI-shaped JSON with this HTTP status.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = {}, std::string code = {},
           std::string type = "invalid_request_error")
      : std::runtime_error(message), status(status), param(std::move(param)), code(std::move(code)),
        type(std::move(type)) {}
  int status;
  std::string param, code, type;
};
nlohmann::json error_body(const ApiError& e);

struct Message {
  std::string role, content;
};

struct CompletionRequest {
  bool chat = false;
  std::string model;                // "" when not given
  std::string prompt;               // /v1/completions
  std::vector<Message> messages;    // /v1/chat/completions
  std::optional<int> max_tokens;    // default: 16 for completions, the rest of the context for chat
  float temperature = 1.0f, top_p = 1.0f;
  std::optional<uint64_t> seed;
  int n = 1;
  std::vector<std::string> stop;
  bool stream = false, include_usage = false;
  int logprobs = -1;  // completions: -1 none, else the k likeliest tokens shown at each position (0-5)
};

// Throws ApiError (400) naming the field that is missing, of the wrong type or out of range.
CompletionRequest parse_completion_request(const std::string& body, bool chat);

// Alpaca prompts from a chat: each user message answered by an assistant message is an
// earlier turn; the last message must be the user's. System messages have no place in
// Alpaca's template and are left out. Throws ApiError naming "messages".
struct ChatTurns {
  std::vector<std::pair<std::string, std::string>> history;
  std::string message;
};
ChatTurns chat_turns(const std::vector<Message>& messages);
// For a model without a chat template: the messages' contents, one after another.
std::string plain_chat_prompt(const std::vector<Message>& messages);

// One choice's outcome, for the response body.
struct Choice {
  std::string text, finish;
  int prompt_tokens = 0, completion_tokens = 0;
  std::vector<TokenLogprob> logprobs;  // when the request asked for them
};
// The legacy completions' logprobs object: {tokens, token_logprobs, top_logprobs,
// text_offset}. text is the completion up to the end of these tokens' text (their offsets
// are bytes into it); text_offset counts characters from the start of the prompt, as
// OpenAI's does (prompt_chars: the prompt's length in characters).
nlohmann::json logprobs_json(const std::vector<TokenLogprob>& lps, const std::string& text, size_t prompt_chars);
// Characters (UTF-8 code points) in s.
size_t utf8_length(const std::string& s);
nlohmann::json completion_response(const CompletionRequest& r, const std::string& id, const std::string& model,
                                   int64_t created, const std::vector<Choice>& choices);
// A stream chunk of choice `index`: text (a delta), or the end with its finish reason;
// logprobs: the chunk's (null when not asked).
nlohmann::json stream_chunk(const CompletionRequest& r, const std::string& id, const std::string& model,
                            int64_t created, int index, const std::string& text, const std::string& finish,
                            bool first, const nlohmann::json& logprobs = nullptr);
// The chunk of usage counts sent last when stream_options.include_usage is set.
nlohmann::json usage_chunk(const CompletionRequest& r, const std::string& id, const std::string& model,
                           int64_t created, int prompt_tokens, int completion_tokens);

// JSON text with any invalid UTF-8 replaced (a model can emit any bytes).
std::string dump(const nlohmann::json& j);

}  // namespace slm::serve
