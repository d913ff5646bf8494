#include "slm/serve/openai_api.h"

#include <fmt/format.h>

#include <algorithm>

#include "slm/util/text.h"

namespace slm::serve {

using nlohmann::json;

json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.what()},
            {"type", e.type},
            {"param", e.param.empty() ? json(nullptr) : json(e.param)},
            {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

namespace {

ApiError bad(const std::string& field, const std::string& what) {
  return ApiError(400, "'" + field + "' " + what, field, "invalid_value");
}

double number(const json& body, const char* field, double lo, double hi) {
  const json& v = body[field];
  if (!v.is_number()) throw bad(field, "must be a number");
  const double x = v.get<double>();
  if (x < lo || x > hi)
    throw bad(field, "must be between " + json(lo).dump() + " and " + json(hi).dump() + ", not " + v.dump());
  return x;
}

int64_t integer(const json& body, const char* field, int64_t lo, int64_t hi) {
  const json& v = body[field];
  if (!v.is_number_integer()) throw bad(field, "must be an integer");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) throw bad(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return x;
}

bool present(const json& body, const char* field) { return body.contains(field) && !body[field].is_null(); }

std::vector<std::string> stops(const json& v) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array() || v.size() > 4) throw bad("stop", "must be a string or an array of at most 4 strings");
  std::vector<std::string> out;
  for (const auto& s : v) {
    if (!s.is_string()) throw bad("stop", "must hold strings only");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::string prompt_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array() && v.size() == 1 && v[0].is_string()) return v[0].get<std::string>();
  throw bad("prompt", "must be a string (one prompt per request; token arrays are not supported)");
}

// A message's content: a string, or an array of parts of which the text parts count.
std::string content_text(const json& v, size_t i) {
  const std::string field = "messages[" + std::to_string(i) + "].content";
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) throw bad(field, "must be a string or an array of text parts");
  std::string out;
  for (const auto& part : v) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      throw bad(field, "parts must be {\"type\": \"text\", \"text\": ...}");
    out += part["text"].get<std::string>();
  }
  return out;
}

std::vector<Message> messages(const json& v) {
  if (!v.is_array() || v.empty()) throw bad("messages", "must be a non-empty array");
  std::vector<Message> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const json& m = v[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad(at, "must be an object");
    if (!m.contains("role") || !m["role"].is_string()) throw bad(at + ".role", "must be a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant")
      throw bad(at + ".role", "must be system, developer, user or assistant, not '" + role + "'");
    if (!m.contains("content")) throw bad(at + ".content", "is required");
    out.push_back({role, m["content"].is_null() ? std::string() : content_text(m["content"], i)});
  }
  return out;
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body, bool chat) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw ApiError(400, "the request body is not valid JSON", "", "invalid_json");
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");
  CompletionRequest r;
  r.chat = chat;
  if (present(j, "model")) {
    if (!j["model"].is_string()) throw bad("model", "must be a string");
    r.model = j["model"].get<std::string>();
  }
  if (chat) {
    if (!j.contains("messages")) throw bad("messages", "is required");
    r.messages = messages(j["messages"]);
  } else {
    if (!j.contains("prompt")) throw bad("prompt", "is required");
    r.prompt = prompt_text(j["prompt"]);
  }
  const char* max_field = chat && present(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (present(j, max_field)) r.max_tokens = int(integer(j, max_field, 0, 1 << 30));
  if (present(j, "temperature")) r.temperature = float(number(j, "temperature", 0, 2));
  if (present(j, "top_p")) r.top_p = float(number(j, "top_p", 0, 1));
  if (present(j, "seed")) r.seed = uint64_t(integer(j, "seed", INT64_MIN, INT64_MAX));
  if (present(j, "n")) r.n = int(integer(j, "n", 1, 16));
  if (present(j, "stop")) r.stop = stops(j["stop"]);
  if (present(j, "stream")) {
    if (!j["stream"].is_boolean()) throw bad("stream", "must be true or false");
    r.stream = j["stream"].get<bool>();
  }
  if (present(j, "stream_options")) {
    const json& o = j["stream_options"];
    if (!o.is_object()) throw bad("stream_options", "must be an object");
    r.include_usage = o.value("include_usage", false);
  }
  // Completions take the legacy integer form; chat's form (logprobs: true, top_logprobs)
  // is not computed here: say so rather than answer without them.
  const json& lp = j.contains("logprobs") ? j["logprobs"] : json();
  if (!chat && present(j, "logprobs")) r.logprobs = int(integer(j, "logprobs", 0, 5));
  if (chat && !lp.is_null() && !(lp.is_boolean() && !lp.get<bool>()))
    throw ApiError(400, "'logprobs' is not supported by slm serve for chat; use /v1/completions", "logprobs",
                   "unsupported_parameter");
  if (present(j, "echo") && j["echo"] != false)
    throw ApiError(400, "'echo' is not supported by slm serve", "echo", "unsupported_parameter");
  return r;
}

ChatTurns chat_turns(const std::vector<Message>& messages) {
  std::vector<const Message*> turns;  // user and assistant messages, in order
  for (const auto& m : messages)
    if (m.role == "user" || m.role == "assistant") turns.push_back(&m);
  if (turns.empty() || turns.back()->role != "user")
    throw ApiError(400, "'messages' must end with a user message", "messages", "invalid_value");
  ChatTurns t;
  t.message = turns.back()->content;
  for (size_t i = 0; i + 1 < turns.size(); ++i) {
    if (turns[i]->role != "user") continue;  // a reply without a question has no place in the template
    const bool answered = turns[i + 1]->role == "assistant";
    t.history.emplace_back(turns[i]->content, answered ? turns[i + 1]->content : std::string());
  }
  return t;
}

std::string plain_chat_prompt(const std::vector<Message>& messages) {
  std::string out;
  for (const auto& m : messages) {
    if (!out.empty()) out += "\n";
    out += m.content;
  }
  return out;
}

namespace {

json usage(int prompt_tokens, int completion_tokens) {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

json head(const CompletionRequest& r, const std::string& id, const std::string& model, int64_t created, bool chunk) {
  const char* object = r.chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
  return {{"id", id}, {"object", object}, {"created", created}, {"model", model}, {"system_fingerprint", nullptr}};
}

}  // namespace

json completion_response(const CompletionRequest& r, const std::string& id, const std::string& model, int64_t created,
                         const std::vector<Choice>& choices) {
  json j = head(r, id, model, created, false);
  j["choices"] = json::array();
  int prompt = 0, completion = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    const Choice& c = choices[i];
    json choice = {{"index", i}, {"logprobs", nullptr}, {"finish_reason", c.finish}};
    if (r.logprobs >= 0) choice["logprobs"] = logprobs_json(c.logprobs, c.text, utf8_length(r.prompt));
    if (r.chat)
      choice["message"] = {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}};
    else
      choice["text"] = c.text;
    j["choices"].push_back(choice);
    prompt = c.prompt_tokens;  // every choice has the same prompt, counted once as OpenAI does
    completion += c.completion_tokens;
  }
  j["usage"] = usage(prompt, completion);
  return j;
}

json stream_chunk(const CompletionRequest& r, const std::string& id, const std::string& model, int64_t created,
                  int index, const std::string& text, const std::string& finish, bool first, const json& logprobs) {
  json j = head(r, id, model, created, true);
  json choice = {{"index", index}, {"logprobs", logprobs}, {"finish_reason", finish.empty() ? json(nullptr) : json(finish)}};
  if (r.chat) {
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && finish.empty())) delta["content"] = text;
    choice["delta"] = delta;
  } else {
    choice["text"] = text;
  }
  j["choices"] = json::array({choice});
  if (r.include_usage) j["usage"] = nullptr;
  return j;
}

json usage_chunk(const CompletionRequest& r, const std::string& id, const std::string& model, int64_t created,
                 int prompt_tokens, int completion_tokens) {
  json j = head(r, id, model, created, true);
  j["choices"] = json::array();
  j["usage"] = usage(prompt_tokens, completion_tokens);
  return j;
}

size_t utf8_length(const std::string& s) {
  // As a client reads the text: a valid character is one, and so is each byte of an
  // invalid sequence (dump() writes each as U+FFFD).
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    const bool whole = i + len <= s.size() && utf8_invalid_at(std::string_view(s).substr(i, len)) == std::string::npos;
    i += whole ? len : 1;
  }
  return n;
}

namespace {

// A token's text as OpenAI shows it: as is when valid UTF-8, else its bytes as
// "bytes:\xe2\x80" (a token may end inside a character).
std::string token_text(const std::string& bytes) {
  if (utf8_invalid_at(bytes) == std::string::npos) return bytes;
  std::string out = "bytes:";
  for (unsigned char c : bytes) out += fmt::format("\\x{:02x}", c);
  return out;
}

}  // namespace

json logprobs_json(const std::vector<TokenLogprob>& lps, const std::string& text, size_t prompt_chars) {
  json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array();
  size_t at = 0, chars = prompt_chars;  // walk the text once: offsets only grow
  for (const auto& l : lps) {
    const size_t to = std::min(l.offset, text.size());
    if (to > at) chars += utf8_length(text.substr(at, to - at)), at = to;
    tokens.push_back(token_text(l.token));
    token_logprobs.push_back(l.logprob);
    json t = json::object();
    for (const auto& [piece, lp] : l.top) t[token_text(piece)] = lp;
    top.push_back(t);
    offsets.push_back(chars);
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}, {"text_offset", offsets}};
}

}  // namespace slm::serve
