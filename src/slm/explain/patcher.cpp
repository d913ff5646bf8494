#include "slm/explain/patcher.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "slm/tensor/ops.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::explain {

using model::Site;

namespace {

constexpr int kSites = 6;  // model::Site's values
bool restorable(Site s) { return s != Site::attn_probs; }

// Draws n standard normals (Box-Muller), the same for a seed on every machine.
std::vector<float> normals(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> out(n);
  for (size_t i = 0; i < n; i += 2) {
    double r = std::sqrt(-2.0 * std::log(rng.uniform() + 1e-300)), a = 2 * M_PI * rng.uniform();
    out[i] = float(r * std::cos(a));
    if (i + 1 < n) out[i + 1] = float(r * std::sin(a));
  }
  return out;
}

}  // namespace

// Records the source run (record_ set), or patches a batched base run: window w of the
// batch is restoration items_[w / samples] under noise sample w % samples.
class Patcher::Hook : public model::ForwardHook<float> {
 public:
  Hook(Patcher& p, int C) : p_(p), C_(C) {}
  bool record_ = false;
  const Restore* items_ = nullptr;

  void at(Site site, int layer, float* act, int B, int Tn) override {
    auto& cached = p_.cache_[size_t(site)][size_t(layer)];
    if (record_) {  // B is 1
      const size_t n = site == Site::attn_probs ? size_t(p_.m_.config().n_heads) * Tn * Tn : size_t(Tn) * C_;
      cached.assign(act, act + n);
      return;
    }
    if (!restorable(site)) return;
    const int S = p_.noise_.samples;
    if (site == Site::embed) add_noise(act, B, Tn);
    for (int w = 0; w < B; ++w) {
      const Restore& r = items_[w / S];
      if (r.site != site || std::find(r.layers.begin(), r.layers.end(), layer) == r.layers.end()) continue;
      const int c0 = r.head >= 0 ? r.head * p_.m_.config().head_dim() : 0;
      const int width = r.head >= 0 ? p_.m_.config().head_dim() : C_;
      for (int t : r.positions)
        std::copy_n(cached.data() + size_t(t) * C_ + c0, width, act + (size_t(w) * Tn + t) * C_ + c0);
    }
  }

 private:
  void add_noise(float* act, int B, int Tn) {
    const Noise& n = p_.noise_;
    const int span = n.end - n.begin;
    if (span <= 0 || n.scale == 0) return;
    for (int w = 0; w < B; ++w) {
      const float* z = p_.noise_values_.data() + size_t(w % n.samples) * span * C_;
      float* x = act + (size_t(w) * Tn + n.begin) * C_;
      for (size_t i = 0; i < size_t(span) * C_; ++i) x[i] += float(n.scale) * z[i];
    }
  }
  Patcher& p_;
  int C_;
};

Patcher::Patcher(model::Transformer<float>& m, std::vector<int32_t> source, std::vector<int32_t> base, Noise noise)
    : m_(m), base_(std::move(base)), noise_(noise) {
  const auto& cfg = m.config();
  if (source.size() != base_.size())
    throw Error("the two prompts must have the same number of tokens to patch one into the other: " +
                std::to_string(source.size()) + " and " + std::to_string(base_.size()));
  if (base_.empty()) throw Error("the prompt has no tokens");
  if (int(base_.size()) > cfg.context)
    throw Error("the prompt has " + std::to_string(base_.size()) + " tokens, more than the model's context of " +
                std::to_string(cfg.context));
  if (noise_.samples < 1) throw Error("noise samples must be at least 1");
  if (noise_.begin < 0 || noise_.end > int(base_.size()) || noise_.begin > noise_.end)
    throw Error("the corrupted token range is outside the prompt");
  noise_values_ = normals(size_t(noise_.samples) * (noise_.end - noise_.begin) * cfg.dim, noise_.seed);
  cache_.assign(kSites, std::vector<std::vector<float>>(size_t(cfg.n_layers)));

  Hook rec(*this, cfg.dim);
  rec.record_ = true;
  m_.set_hook(&rec);
  const int Tn = int(source.size());
  try {
    m_.forward_hidden(source.data(), 1, Tn);
  } catch (...) {
    m_.set_hook(nullptr);
    throw;
  }
  m_.set_hook(nullptr);
  source_logits_.resize(size_t(cfg.vocab_size));
  head_of_last_rows(1, Tn, source_logits_.data());
}

Patcher::~Patcher() { m_.set_hook(nullptr); }

void Patcher::head_of_last_rows(int B, int Tn, float* out) {
  const int C = m_.config().dim, V = m_.config().vocab_size;
  std::vector<float> last(size_t(B) * C);
  for (int b = 0; b < B; ++b)
    std::copy_n(m_.final_hidden() + (size_t(b) * Tn + Tn - 1) * C, C, last.data() + size_t(b) * C);
  tensor::matmul_forward(out, last.data(), m_.param(m_.layout().output_head()), B, C, V);
}

void Patcher::run(const std::vector<Restore>& items, const std::function<void(size_t, int, const float*)>& fn,
                  int64_t max_tokens) {
  const int Tn = tokens(), S = noise_.samples, V = m_.config().vocab_size, L = m_.config().n_layers;
  for (const auto& r : items) {
    if (!restorable(r.site)) throw Error("attention probabilities can be read, not restored");
    for (int l : r.layers)
      if (l < 0 || l >= L) throw Error("layer " + std::to_string(l) + " is outside the model's " + std::to_string(L));
    for (int t : r.positions)
      if (t < 0 || t >= Tn) throw Error("position " + std::to_string(t) + " is outside the prompt");
    if (r.head >= m_.config().n_heads) throw Error("head " + std::to_string(r.head) + " is outside the model's heads");
  }
  // Items per forward: as many as fit in max_tokens tokens, at least one.
  const size_t per_batch = size_t(std::max<int64_t>(1, max_tokens / (int64_t(Tn) * S)));
  std::vector<float> logits;
  std::vector<int32_t> inputs;
  Hook hook(*this, m_.config().dim);
  m_.set_hook(&hook);
  try {
    for (size_t first = 0; first < items.size(); first += per_batch) {
      const int n = int(std::min(per_batch, items.size() - first)), B = n * S;
      inputs.resize(size_t(B) * Tn);
      for (int w = 0; w < B; ++w) std::copy(base_.begin(), base_.end(), inputs.begin() + size_t(w) * Tn);
      hook.items_ = items.data() + first;
      m_.forward_hidden(inputs.data(), B, Tn);
      logits.resize(size_t(B) * V);
      head_of_last_rows(B, Tn, logits.data());
      for (int w = 0; w < B; ++w) fn(first + size_t(w / S), w % S, logits.data() + size_t(w) * V);
    }
  } catch (...) {
    m_.set_hook(nullptr);
    throw;
  }
  m_.set_hook(nullptr);
}

std::vector<double> Patcher::answer_probs(const std::vector<Restore>& items, int32_t answer) {
  const int V = m_.config().vocab_size, S = noise_.samples;
  std::vector<double> p(items.size(), 0.0);
  run(items, [&](size_t i, int, const float* logits) { p[i] += softmax_prob(logits, V, answer) / S; });
  return p;
}

std::vector<float> Patcher::last_logits(const std::vector<Restore>& items) {
  const int V = m_.config().vocab_size, S = noise_.samples;
  std::vector<float> out(items.size() * size_t(V), 0.0f);
  run(items, [&](size_t i, int, const float* logits) {
    for (int v = 0; v < V; ++v) out[i * V + v] += logits[v] / float(S);
  });
  return out;
}

const std::vector<float>& Patcher::source(Site site, int layer) const {
  return cache_.at(size_t(site)).at(size_t(layer));
}

double softmax_prob(const float* logits, int vocab, int32_t id) {
  const float mx = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int v = 0; v < vocab; ++v) sum += std::exp(double(logits[v] - mx));
  return std::exp(double(logits[id] - mx)) / sum;
}

}  // namespace slm::explain
