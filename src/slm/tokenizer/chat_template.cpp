#include "slm/tokenizer/chat_template.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::tokenizer {

namespace {
constexpr const char* kWithInput =
    "Below is an instruction that describes a task, paired with an input that provides further context. Write a "
    "response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}"
    "\n\n### Response:";
constexpr const char* kNoInput =
    "Below is an instruction that describes a task. Write a response that appropriately completes the "
    "request.\n\n### Instruction:\n{instruction}\n\n### Response:";

std::string substitute(std::string t, const std::string& key, const std::string& value) {
  size_t p = t.find(key);
  return p == std::string::npos ? t : t.replace(p, key.size(), value);
}
}  // namespace

std::string alpaca_prompt(const std::string& instruction, const std::string& input) {
  // The instruction goes in last so that braces inside it are never taken for a placeholder.
  if (input.empty()) return substitute(kNoInput, "{instruction}", instruction);
  return substitute(substitute(kWithInput, "{input}", input), "{instruction}", instruction);
}

std::string chat_prompt(const std::vector<std::pair<std::string, std::string>>& history, const std::string& message) {
  std::string p;
  // The reply follows the final colon directly, as in Alpaca's training examples.
  for (const auto& [user, reply] : history) p += alpaca_prompt(user) + reply + kTurnSeparator;
  return p + alpaca_prompt(message);
}

std::string alpaca_jinja_template() {
  // Jinja string literals take \n as a newline, so the C++ text holds a backslash and n.
  return "{% for message in messages %}{% if message['role'] == 'user' %}"
         "{{ 'Below is an instruction that describes a task. Write a response that appropriately completes the "
         "request.\\n\\n### Instruction:\\n' + message['content'] + '\\n\\n### Response:' }}"
         "{% elif message['role'] == 'assistant' %}{{ message['content'] + '\\n\\n' }}{% endif %}{% endfor %}";
}

void write_template_file(const std::string& dir) {
  nlohmann::json j = {{"name", "alpaca"},
                      {"prompt_input", kWithInput},
                      {"prompt_no_input", kNoInput},
                      {"response_end", "<|endoftext|>"},
                      {"chat_turn_separator", kTurnSeparator}};
  write_file_atomic((std::filesystem::path(dir) / kTemplateFile).string(), j.dump(2) + "\n");
}

bool has_alpaca_template(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / kTemplateFile).string();
  if (!std::filesystem::exists(path)) return false;
  auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string())
    throw Error("malformed prompt template (expected an object with a string 'name')", path);
  if (j["name"] != "alpaca") throw Error("unknown prompt template '" + j["name"].get<std::string>() + "' (known: alpaca)", path);
  return true;
}

bool uses_alpaca_template(const std::string& model_path, const std::string& gguf_chat_template) {
  if (std::filesystem::is_directory(model_path)) return has_alpaca_template(model_path);
  return !gguf_chat_template.empty() && gguf_chat_template == alpaca_jinja_template();
}

}  // namespace slm::tokenizer
