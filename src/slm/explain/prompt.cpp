#include "slm/explain/prompt.h"

#include <algorithm>

#include "slm/explain/patcher.h"
#include "slm/util/error.h"

namespace slm::explain {

PromptTokens tokenize_prompt(const tokenizer::Tokenizer& tok, const std::string& text, const std::string& where) {
  if (text.empty()) throw Error(where + ": the prompt is empty");
  PromptTokens p;
  p.text = text;
  for (uint32_t id : tok.encode(text, false)) {
    p.ids.push_back(int32_t(id));
    p.pieces.push_back(tok.decode({id}));
  }
  return p;
}

std::pair<int, int> find_subject(const PromptTokens& p, const std::string& subject, const std::string& where) {
  if (subject.empty()) throw Error(where + ": the subject is empty");
  const size_t at = p.text.find(subject);
  if (at == std::string::npos)
    throw Error(where + ": the subject '" + subject + "' is not in the prompt '" + p.text + "'");
  // Token byte spans: byte-level BPE decodes each token to its own bytes, in order.
  int begin = -1, end = -1;
  size_t pos = 0;
  for (size_t i = 0; i < p.pieces.size(); ++i) {
    const size_t next = pos + p.pieces[i].size();
    if (next > at && pos < at + subject.size()) {
      if (begin < 0) begin = int(i);
      end = int(i) + 1;
    }
    pos = next;
  }
  if (begin < 0) throw Error(where + ": the subject '" + subject + "' covers no token of the prompt");
  return {begin, end};
}

int32_t answer_token(const tokenizer::Tokenizer& tok, const std::string& answer, bool first_token,
                     const std::string& where) {
  if (answer.empty()) throw Error(where + ": the answer is empty");
  const auto ids = tok.encode(answer, false);
  if (ids.size() > 1 && !first_token) {
    std::string shown;
    for (uint32_t id : ids) shown += (shown.empty() ? "" : " ") + shown_token(tok.decode({id}));
    throw Error(where + ": the answer '" + answer + "' is " + std::to_string(ids.size()) + " tokens (" + shown +
                "); tracing measures the probability of one token: give an answer of one token (often with its "
                "leading space, ' Tom'), or --first-token to score its first token");
  }
  return int32_t(ids[0]);
}

int32_t predicted_token(model::Transformer<float>& m, const std::vector<int32_t>& ids) {
  Patcher p(m, ids, ids);
  const auto& l = p.source_logits();
  return int32_t(std::max_element(l.begin(), l.end()) - l.begin());
}

std::string shown_token(const std::string& piece) {
  std::string out = "'";
  for (unsigned char c : piece) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      const char* hex = "0123456789abcdef";
      out += "\\x", out += hex[c >> 4], out += hex[c & 15];
    } else out += char(c);
  }
  return out + "'";
}

}  // namespace slm::explain
