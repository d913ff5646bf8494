#pragma once
// Stanford Alpaca's prompt template, byte for byte, and the record of it that a
// fine-tuned model folder carries (prompt_template.json), so that generation and chat
// wrap a prompt the way the model was trained. Fine-tuning (train/) and inference
// (infer/) both build prompts from here.
#include <string>
#include <utility>
#include <vector>

namespace slm::tokenizer {

// Alpaca's prompt, with or without an input; the response follows the final colon, and
// fine-tuning ends it with the end-of-text token.
std::string alpaca_prompt(const std::string& instruction, const std::string& input = "");

// A chat as Alpaca prompts: each earlier turn (message, reply) as a complete example
// followed by a blank line, then the new message. The caller drops the oldest turns
// while the prompt does not fit the context.
std::string chat_prompt(const std::vector<std::pair<std::string, std::string>>& history, const std::string& message);
constexpr const char* kChatStop = "\n### Instruction:";
constexpr const char* kTurnSeparator = "\n\n";  // after a reply, before the next prompt

constexpr const char* kTemplateFile = "prompt_template.json";

// The same template as a Jinja chat template (Hugging Face's tokenizer_config.json
// "chat_template", GGUF's tokenizer.chat_template): user turns as Alpaca prompts,
// assistant turns followed by a blank line, as slm chat lays a conversation out.
std::string alpaca_jinja_template();

// Writes dir/prompt_template.json: the template's name ("alpaca"), both prompt strings
// with {instruction} and {input} placeholders, and what ends a response.
void write_template_file(const std::string& dir);

// True when dir holds a prompt_template.json naming a template slm knows; throws
// slm::Error naming the file when it names another.
bool has_alpaca_template(const std::string& dir);

// The same for a model folder or a GGUF file's tokenizer.chat_template (the Jinja form
// slm export gguf writes), given that template's text ("" when the file has none).
bool uses_alpaca_template(const std::string& model_path, const std::string& gguf_chat_template);

}  // namespace slm::tokenizer
