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

// The sequences of one generate_batch call, decoded together: prefill each prompt, then
// one row per live sequence a step until every sequence has finished.
class BatchDecoder {
 public:
  using OnText = std::function<void(size_t, const std::string&)>;
  BatchDecoder(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, size_t n,
               const GenerateOptions& opt, const OnText& on_text)
      : tok_(tok), opt_(opt), on_text_(on_text), V_(m.config().vocab_size), eot_(tok.eot()),
        engine_(m, int(n), opt.q8) {}

  std::vector<GenerateResult> run(const std::vector<std::string>& prompts) {
    prefill(prompts);
    auto t0 = Clock::now();
    for (size_t i = 0; i < live_.size(); ++i) {
      if (opt_.max_tokens <= 0) {
        live_[i].done = true;
        live_[i].result.finish = "length";
      } else {
        accept(i, first_logits_[i].data());
      }
    }
    while (decode_step()) {
    }
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<GenerateResult> out;
    for (auto& s : live_) {
      s.result.generate_seconds = secs;
      out.push_back(std::move(s.result));
    }
    return out;
  }

 private:
  // Prompts: one batched pass each; the first token is drawn from the last row.
  void prefill(const std::vector<std::string>& prompts) {
    live_.reserve(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      // An empty prompt starts a new document, as training data does after <|endoftext|>.
      std::vector<uint32_t> ids = prompts[i].empty() ? std::vector<uint32_t>{eot_} : tok_.encode(prompts[i]);
      if (int(ids.size()) > engine_.context())
        throw Error("prompt " + std::to_string(i + 1) + " has " + std::to_string(ids.size()) +
                    " tokens, more than the model's context of " + std::to_string(engine_.context()));
      live_.push_back({ids, 0, Rng(opt_.seed + i), StopFilter(opt_.stop), {}, false});
      live_.back().result.prompt_tokens = int(ids.size());
    }
    first_logits_.resize(prompts.size());
    for (size_t i = 0; i < live_.size(); ++i) {
      auto t0 = Clock::now();
      const float* l = engine_.feed(live_[i].ids.data(), int(live_[i].ids.size()), 0, int(i));
      first_logits_[i].assign(l, l + V_);
      live_[i].pos = int(live_[i].ids.size());
      live_[i].result.prompt_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    }
  }

  // One row per live sequence; false when none is left.
  bool decode_step() {
    rows_.clear();
    which_.clear();
    for (size_t i = 0; i < live_.size(); ++i)
      if (!live_[i].done) {
        rows_.push_back({live_[i].ids.back(), int(i), live_[i].pos});
        which_.push_back(i);
      }
    if (rows_.empty()) return false;
    const float* logits = engine_.feed(rows_);
    for (size_t r = 0; r < rows_.size(); ++r) {
      ++live_[which_[r]].pos;
      accept(which_[r], logits + r * size_t(V_));
    }
    return true;
  }

  void emit(size_t i, const std::string& text) {
    live_[i].result.text += text;
    if (on_text_ && !text.empty()) on_text_(i, text);
  }

  void finish(size_t i, const char* why) {
    emit(i, live_[i].filter.flush());
    live_[i].result.finish = why;
    live_[i].done = true;
  }

  // Draws sequence i's next token from its logits and decides whether it goes on.
  void accept(size_t i, const float* logits) {
    Live& s = live_[i];
    if (opt_.bias) {
      biased_.assign(logits, logits + V_);
      opt_.bias(i, s.result.tokens, biased_.data());
      logits = biased_.data();
    }
    uint32_t next = sample_token(logits, V_, opt_.sampling, s.rng, s.ids);
    if (opt_.stop_at_eot && next == eot_) return finish(i, "eot");
    s.ids.push_back(next);
    s.result.tokens.push_back(next);
    ++s.result.generated_tokens;
    emit(i, s.filter.push(tok_.decode({next})));
    if (s.filter.stopped()) {
      s.result.finish = "stop";
      s.done = true;
    } else if (s.result.generated_tokens >= opt_.max_tokens) {
      finish(i, "length");
    } else if (s.pos >= engine_.context()) {
      if (!opt_.context_shift) return finish(i, "context");
      shift_context(s, i);
    }
  }

  // Keeps the newest half (the token just drawn comes next) and rebuilds its cache.
  void shift_context(Live& s, size_t i) {
    const size_t keep = size_t(engine_.context() / 2);
    std::vector<uint32_t> kept(s.ids.end() - long(keep) - 1, s.ids.end() - 1);
    engine_.feed(kept.data(), int(kept.size()), 0, int(i));
    s.pos = int(kept.size());
    kept.push_back(s.ids.back());
    s.ids = std::move(kept);
  }

  const tokenizer::Tokenizer& tok_;
  const GenerateOptions& opt_;
  const OnText& on_text_;
  const int V_;
  const uint32_t eot_;
  Engine engine_;
  std::vector<Live> live_;
  std::vector<std::vector<float>> first_logits_;
  std::vector<Engine::Row> rows_;
  std::vector<size_t> which_;
  std::vector<float> biased_;  // the logits with opt_.bias applied
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
  return BatchDecoder(m, tok, prompts.size(), opt, on_text).run(prompts);
}

GenerateResult generate(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text) {
  auto r = generate_batch(m, tok, {prompt}, opt, [&](size_t, const std::string& t) {
    if (on_text) on_text(t);
  });
  return std::move(r[0]);
}

}  // namespace slm::infer
