#include "slm/infer/generate.h"

#include <chrono>
#include <utility>

#include "slm/infer/engine.h"
#include "slm/util/error.h"

namespace slm::infer {

using Clock = std::chrono::steady_clock;

namespace {

// Holds back text that might be the start of a stop string, releases the rest.
class StopFilter {
 public:
  explicit StopFilter(const std::vector<std::string>& stops) : stops_(stops) {}
  // Adds a piece; returns the text that is now final. Sets stopped() at a stop string.
  std::string push(const std::string& piece) {
    pending_ += piece;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      size_t at = pending_.find(s);
      if (at != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, at);
        pending_.clear();
        return out;
      }
    }
    // Keep the longest tail that is a prefix of some stop string.
    size_t keep = 0;
    for (const auto& s : stops_)
      for (size_t k = std::min(s.size() - 1, pending_.size()); k > keep; --k)
        if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
          keep = k;
          break;
        }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
  std::string flush() { return std::exchange(pending_, {}); }
  bool stopped() const { return stopped_; }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
  bool stopped_ = false;
};

struct Live {
  std::vector<uint32_t> ids;  // prompt and generated tokens
  int pos = 0;                // tokens in the cache
  Rng rng;
  StopFilter filter;
  GenerateResult result;
  bool done = false;
};

}  // namespace

std::vector<GenerateResult> generate_batch(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                           const std::vector<std::string>& prompts, const GenerateOptions& opt,
                                           const std::function<void(size_t, const std::string&)>& on_text) {
  const int V = m.config().vocab_size;
  if (int64_t(tok.vocab_size()) > V)
    throw Error("the tokenizer's vocabulary (" + std::to_string(tok.vocab_size()) + ") is larger than the model's (" +
                std::to_string(V) + ")");
  if (prompts.empty()) return {};
  const uint32_t eot = tok.eot();
  Engine engine(m, int(prompts.size()), opt.q8);
  std::vector<Live> live;
  live.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    // An empty prompt starts a new document, as training data does after <|endoftext|>.
    std::vector<uint32_t> ids = prompts[i].empty() ? std::vector<uint32_t>{eot} : tok.encode(prompts[i]);
    if (int(ids.size()) > engine.context())
      throw Error("prompt " + std::to_string(i + 1) + " has " + std::to_string(ids.size()) +
                  " tokens, more than the model's context of " + std::to_string(engine.context()));
    live.push_back({ids, 0, Rng(opt.seed + i), StopFilter(opt.stop), {}, false});
    live.back().result.prompt_tokens = int(ids.size());
  }
  // Prompts: one batched pass each; the first token is drawn from the last row.
  std::vector<std::vector<float>> first_logits(prompts.size());
  for (size_t i = 0; i < live.size(); ++i) {
    auto t0 = Clock::now();
    const float* l = engine.feed(live[i].ids.data(), int(live[i].ids.size()), 0, int(i));
    first_logits[i].assign(l, l + V);
    live[i].pos = int(live[i].ids.size());
    live[i].result.prompt_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  auto t0 = Clock::now();
  auto accept = [&](size_t i, const float* logits) {
    Live& s = live[i];
    uint32_t next = sample_token(logits, V, opt.sampling, s.rng, s.ids);
    auto finish = [&](const char* why) {
      std::string rest = s.filter.flush();
      s.result.text += rest;
      if (on_text && !rest.empty()) on_text(i, rest);
      s.result.finish = why;
      s.done = true;
    };
    if (opt.stop_at_eot && next == eot) return finish("eot");
    s.ids.push_back(next);
    ++s.result.generated_tokens;
    std::string out = s.filter.push(tok.decode({next}));
    s.result.text += out;
    if (on_text && !out.empty()) on_text(i, out);
    if (s.filter.stopped()) {
      s.result.finish = "stop";
      s.done = true;
    } else if (s.result.generated_tokens >= opt.max_tokens) {
      finish("length");
    } else if (s.pos >= engine.context()) {
      if (!opt.context_shift) return finish("context");
      // Keep the newest half (the token just drawn comes next) and rebuild its cache.
      const size_t keep = size_t(engine.context() / 2);
      std::vector<uint32_t> kept(s.ids.end() - long(keep) - 1, s.ids.end() - 1);
      engine.feed(kept.data(), int(kept.size()), 0, int(i));
      s.pos = int(kept.size());
      kept.push_back(s.ids.back());
      s.ids = std::move(kept);
    }
  };
  for (size_t i = 0; i < live.size(); ++i) {
    if (opt.max_tokens <= 0) {
      live[i].done = true;
      live[i].result.finish = "length";
    } else {
      accept(i, first_logits[i].data());
    }
  }
  // Decoding: one row per live sequence a step.
  std::vector<Engine::Row> rows;
  std::vector<size_t> which;
  for (;;) {
    rows.clear();
    which.clear();
    for (size_t i = 0; i < live.size(); ++i)
      if (!live[i].done) {
        rows.push_back({live[i].ids.back(), int(i), live[i].pos});
        which.push_back(i);
      }
    if (rows.empty()) break;
    const float* logits = engine.feed(rows);
    for (size_t r = 0; r < rows.size(); ++r) {
      ++live[which[r]].pos;
      accept(which[r], logits + r * size_t(V));
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::vector<GenerateResult> out;
  for (auto& s : live) {
    s.result.generate_seconds = secs;
    out.push_back(std::move(s.result));
  }
  return out;
}

GenerateResult generate(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text) {
  auto r = generate_batch(m, tok, {prompt}, opt, [&](size_t, const std::string& t) {
    if (on_text) on_text(t);
  });
  return std::move(r[0]);
}

}  // namespace slm::infer
