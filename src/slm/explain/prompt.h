#pragma once
// A prompt as the explain commands see it: its tokens with their text (for the heat maps'
// labels), the tokens of a subject within it, and the answer as one token.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::explain {

struct PromptTokens {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;  // each token's text, as decoded
};

// Throws slm::Error (naming `where`) for an empty prompt.
PromptTokens tokenize_prompt(const tokenizer::Tokenizer& tok, const std::string& text, const std::string& where);

// The tokens [begin, end) that overlap the subject's first occurrence in the prompt.
// Throws slm::Error naming the subject and the prompt when the prompt does not contain it.
std::pair<int, int> find_subject(const PromptTokens& p, const std::string& subject, const std::string& where);

// The answer's token. An answer of several tokens is refused, naming its tokens, unless
// first_token: then its first token is scored (the probability that the model starts it).
int32_t answer_token(const tokenizer::Tokenizer& tok, const std::string& answer, bool first_token,
                     const std::string& where);

// The model's most likely next token after the prompt (the answer when none is given).
int32_t predicted_token(model::Transformer<float>& m, const std::vector<int32_t>& ids);

// A token's text for labels and messages: as decoded, quoted, with control bytes escaped.
std::string shown_token(const std::string& piece);

}  // namespace slm::explain
