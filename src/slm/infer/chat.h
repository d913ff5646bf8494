#pragma once
// A conversation with an instruction-tuned model (slm chat): each message is answered in
// Alpaca's template with the turns before it, the oldest dropped when they would leave no
// room in the context for the reply.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "slm/infer/generate.h"

namespace slm::infer {

class ChatSession {
 public:
  // opt.seed seeds the first reply; each later one draws from the next seed.
  ChatSession(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, GenerateOptions opt);

  // The reply to a message, its text streamed to on_text as it becomes final. Throws
  // slm::Error when the message alone does not fit the context (the session goes on).
  GenerateResult reply(const std::string& message, const std::function<void(const std::string&)>& on_text = {});
  void reset() { history_.clear(); }
  size_t turns() const { return history_.size(); }

 private:
  // The prompt for message, after dropping the oldest turns until it leaves max_tokens of
  // the context for the reply (or no turn is left).
  std::string fitted_prompt(const std::string& message);

  const model::Transformer<float>& model_;
  const tokenizer::Tokenizer& tok_;
  GenerateOptions opt_;
  uint64_t turn_ = 0;
  std::vector<std::pair<std::string, std::string>> history_;  // (message, reply)
};

}  // namespace slm::infer
