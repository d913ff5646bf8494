#include "slm/infer/chat.h"

#include <algorithm>

#include "slm/infer/prompts.h"

namespace slm::infer {

ChatSession::ChatSession(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, GenerateOptions opt)
    : model_(m), tok_(tok), opt_(std::move(opt)) {
  opt_.stop.push_back(kChatStop);  // the template's next "### Instruction:" ends a reply
}

std::string ChatSession::fitted_prompt(const std::string& message) {
  const size_t budget = size_t(std::max(1, model_.config().context - opt_.max_tokens));
  std::string prompt = chat_prompt(history_, message);
  while (!history_.empty() && tok_.encode(prompt).size() > budget) {
    history_.erase(history_.begin());
    prompt = chat_prompt(history_, message);
  }
  return prompt;
}

GenerateResult ChatSession::reply(const std::string& message, const std::function<void(const std::string&)>& on_text) {
  GenerateOptions g = opt_;
  g.seed = opt_.seed + turn_++;
  GenerateResult r = generate(model_, tok_, fitted_prompt(message), g, on_text);
  history_.emplace_back(message, r.text);
  return r;
}

}  // namespace slm::infer
