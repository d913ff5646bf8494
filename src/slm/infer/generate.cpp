#include "slm/infer/generate.h"

#include "slm/util/error.h"

namespace slm::infer {

std::string generate(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                     const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text) {
  const int ctx = m.config().context, V = m.config().vocab_size;
  if (int64_t(tok.vocab_size()) > V)
    throw Error("the tokenizer's vocabulary (" + std::to_string(tok.vocab_size()) + ") is larger than the model's (" +
                std::to_string(V) + ")");
  const uint32_t eot = tok.eot();
  // An empty prompt starts a new document, as training data does after <|endoftext|>.
  std::vector<uint32_t> ids = prompt.empty() ? std::vector<uint32_t>{eot} : tok.encode(prompt);
  Rng rng(opt.seed);
  std::string text;
  std::vector<int32_t> window;
  for (int n = 0; n < opt.max_tokens; ++n) {
    // The last `ctx` tokens (a sliding window once the context is full).
    size_t start = ids.size() > size_t(ctx) ? ids.size() - size_t(ctx) : 0;
    window.assign(ids.begin() + long(start), ids.end());
    m.forward(window.data(), 1, int(window.size()));
    const float* last = m.logits() + (window.size() - 1) * size_t(V);
    uint32_t next = sample_token(last, V, opt.sampling, rng);
    if (opt.stop_at_eot && next == eot) break;
    ids.push_back(next);
    std::string piece = tok.decode({next});
    text += piece;
    if (on_text) on_text(piece);
  }
  return text;
}

}  // namespace slm::infer
