#include "slm/infer/generate.h"

#include <chrono>

#include "slm/infer/engine.h"
#include "slm/util/error.h"

namespace slm::infer {

using Clock = std::chrono::steady_clock;

GenerateResult generate(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text) {
  const int V = m.config().vocab_size;
  if (int64_t(tok.vocab_size()) > V)
    throw Error("the tokenizer's vocabulary (" + std::to_string(tok.vocab_size()) + ") is larger than the model's (" +
                std::to_string(V) + ")");
  const uint32_t eot = tok.eot();
  // An empty prompt starts a new document, as training data does after <|endoftext|>.
  std::vector<uint32_t> ids = prompt.empty() ? std::vector<uint32_t>{eot} : tok.encode(prompt);
  Engine engine(m);
  if (int(ids.size()) > engine.context())
    throw Error("the prompt has " + std::to_string(ids.size()) + " tokens, more than the model's context of " +
                std::to_string(engine.context()));
  GenerateResult r;
  r.prompt_tokens = int(ids.size());
  Rng rng(opt.seed);
  auto t0 = Clock::now();
  const float* logits = engine.feed(ids.data(), int(ids.size()));
  r.prompt_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  t0 = Clock::now();
  for (int n = 0; n < opt.max_tokens; ++n) {
    uint32_t next = sample_token(logits, V, opt.sampling, rng);
    if (opt.stop_at_eot && next == eot) break;
    std::string piece = tok.decode({next});
    r.text += piece;
    ++r.generated_tokens;
    if (on_text) on_text(piece);
    if (engine.position() == engine.context()) {
      r.context_full = true;
      break;
    }
    logits = engine.feed(&next, 1);
  }
  r.generate_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

}  // namespace slm::infer
