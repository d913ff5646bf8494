#include "slm/explain/patcher.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

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

// Records the source run (mode source, B = 1) or the base run under each noise draw (mode
// base, B = samples), or patches a resumed batch (mode patch): window w of the batch is
// restoration items_[w / samples] under noise sample w % samples, its rows the positions
// from pos0_ on.
class Patcher::Hook : public model::ForwardHook<float> {
 public:
  enum Mode { source, base, patch };
  Hook(Patcher& p, Mode mode) : p_(p), mode_(mode), C_(p.m_.config().dim) {}
  const Restore* const* items_ = nullptr;
  int pos0_ = 0;

  void at(Site site, int layer, float* act, int B, int Tn) override {
    if (mode_ == source) return record(site, layer, act, Tn);
    if (mode_ == base) {
      if (site == Site::embed) add_noise(act, B, Tn);
      if (site == Site::embed || site == Site::resid)
        p_.base_in_[size_t(site == Site::embed ? 0 : layer + 1)].assign(act, act + size_t(B) * Tn * C_);
      return;
    }
    if (!restorable(site)) return;
    const int S = p_.noise_.samples;
    for (int w = 0; w < B; ++w) {
      const Restore& r = *items_[w / S];
      if (r.site != site || std::find(r.layers.begin(), r.layers.end(), layer) == r.layers.end()) continue;
      restore_rows(r, p_.cache_[size_t(site)][size_t(layer)].data(), act + size_t(w) * Tn * C_, pos0_, C_,
                   p_.m_.config().head_dim());
    }
  }

  // Puts r's positions (>= pos0) back from cached [Tn, C] into a window whose rows start at pos0.
  static void restore_rows(const Restore& r, const float* cached, float* window, int pos0, int C, int head_dim) {
    const int c0 = r.head >= 0 ? r.head * head_dim : 0, width = r.head >= 0 ? head_dim : C;
    for (int t : r.positions) std::copy_n(cached + size_t(t) * C + c0, width, window + size_t(t - pos0) * C + c0);
  }

 private:
  void record(Site site, int layer, const float* act, int Tn) {
    const size_t n = site == Site::attn_probs ? size_t(p_.m_.config().n_heads) * Tn * Tn : size_t(Tn) * C_;
    p_.cache_[size_t(site)][size_t(layer)].assign(act, act + n);
  }
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
  Mode mode_;
  int C_;
};

namespace {

// Runs one forward with the hook set, and unsets it whatever happens.
template <class F>
void with_hook(model::Transformer<float>& m, model::ForwardHook<float>* hook, F&& forward) {
  m.set_hook(hook);
  try {
    forward();
  } catch (...) {
    m.set_hook(nullptr);
    throw;
  }
  m.set_hook(nullptr);
}

}  // namespace

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
  const int Tn = int(source.size()), S = noise_.samples, L = cfg.n_layers;

  Hook rec(*this, Hook::source);
  with_hook(m_, &rec, [&] { m_.forward_hidden(source.data(), 1, Tn); });
  source_logits_.resize(size_t(cfg.vocab_size));
  head_of_last_rows(1, Tn, source_logits_.data());

  // The base run, once a noise draw: what every restoration resumes from.
  base_in_.resize(size_t(L) + 1);
  std::vector<int32_t> inputs;
  for (int s = 0; s < S; ++s) inputs.insert(inputs.end(), base_.begin(), base_.end());
  Hook rec_base(*this, Hook::base);
  with_hook(m_, &rec_base, [&] { m_.forward_hidden(inputs.data(), S, Tn); });
  for (int l = 0; l < L; ++l) {
    const size_t n = size_t(S) * Tn * cfg.kv_dim();
    base_k_.emplace_back(m_.keys(l), m_.keys(l) + n);
    base_v_.emplace_back(m_.values(l), m_.values(l) + n);
  }
}

Patcher::~Patcher() { m_.set_hook(nullptr); }

void Patcher::head_of_last_rows(int B, int Tn, float* out) {
  const int C = m_.config().dim, V = m_.config().vocab_size;
  std::vector<float> last(size_t(B) * C);
  for (int b = 0; b < B; ++b)
    std::copy_n(m_.final_hidden() + (size_t(b) * Tn + Tn - 1) * C, C, last.data() + size_t(b) * C);
  tensor::matmul_forward(out, last.data(), m_.param(m_.layout().output_head()), B, C, V);
}

// The embeddings are layer 0's input; the residual stream after layer l is layer l + 1's;
// an attention or MLP output at layer l is inside layer l. Nothing restored: the base run
// itself, its last position read through the final norm alone.
Patcher::Start Patcher::start_of(const Restore& r) const {
  const int L = m_.config().n_layers;
  if (r.layers.empty() || r.positions.empty()) return {L, tokens() - 1};
  const int first = *std::min_element(r.layers.begin(), r.layers.end());
  const int pos = *std::min_element(r.positions.begin(), r.positions.end());
  if (r.site == Site::embed) return {0, pos};
  return {r.site == Site::resid ? first + 1 : first, pos};
}

void Patcher::run_resumed(const std::vector<Restore>& all, const std::vector<size_t>& items, Start at,
                          const std::function<void(size_t, int, const float*)>& fn) {
  const auto& cfg = m_.config();
  const int Tn = tokens() - at.pos, S = noise_.samples, C = cfg.dim, KV = cfg.kv_dim(), L = cfg.n_layers;
  const int B = int(items.size()) * S;
  // Each window's input at layer at.layer: the base run's, with the state that is that
  // input (the embeddings, or the residual stream after the layer below) put back.
  auto& x = x_;  // scratch kept between forwards: large fresh buffers cost page faults each time
  x.resize(size_t(B) * Tn * C);
  std::vector<const Restore*> restores;
  for (int w = 0; w < B; ++w) {
    const Restore& r = all[items[size_t(w / S)]];
    if (w % S == 0) restores.push_back(&r);
    float* win = x.data() + size_t(w) * Tn * C;
    std::copy_n(base_in_[size_t(at.layer)].data() + (size_t(w % S) * tokens() + at.pos) * C, size_t(Tn) * C, win);
    const bool embed = r.site == Site::embed && at.layer == 0;
    const bool below = r.site == Site::resid && std::find(r.layers.begin(), r.layers.end(), at.layer - 1) != r.layers.end();
    if (embed || below)
      Hook::restore_rows(r, cache_[size_t(r.site)][size_t(embed ? 0 : at.layer - 1)].data(), win, at.pos, C, cfg.head_dim());
  }
  // The keys and values of the positions before at.pos: the base run's, a window's draw.
  model::Transformer<float>::Resume resume{at.layer, at.pos, x.data(), {}, {}};
  auto &keys = keys_, &values = values_;
  keys.resize(size_t(L)), values.resize(size_t(L));
  for (int l = at.layer; l < L && at.pos > 0; ++l) {
    const size_t n = size_t(at.pos) * KV;
    keys[size_t(l)].resize(size_t(B) * n), values[size_t(l)].resize(size_t(B) * n);
    for (int w = 0; w < B; ++w) {
      std::copy_n(base_k_[size_t(l)].data() + size_t(w % S) * tokens() * KV, n, keys[size_t(l)].data() + size_t(w) * n);
      std::copy_n(base_v_[size_t(l)].data() + size_t(w % S) * tokens() * KV, n, values[size_t(l)].data() + size_t(w) * n);
    }
  }
  for (int l = 0; l < L; ++l) resume.keys.push_back(keys[size_t(l)].data()), resume.values.push_back(values[size_t(l)].data());
  Hook hook(*this, Hook::patch);
  hook.items_ = restores.data();
  hook.pos0_ = at.pos;
  with_hook(m_, &hook, [&] { m_.forward_hidden_resumed(resume, B, Tn); });
  logits_.resize(size_t(B) * cfg.vocab_size);
  head_of_last_rows(B, Tn, logits_.data());
  for (int w = 0; w < B; ++w) fn(items[size_t(w / S)], w % S, logits_.data() + size_t(w) * cfg.vocab_size);
}

void Patcher::run(const std::vector<Restore>& items, const std::function<void(size_t, int, const float*)>& fn,
                  int64_t max_tokens) {
  const int Tn = tokens(), S = noise_.samples, L = m_.config().n_layers;
  for (const auto& r : items) {
    if (!restorable(r.site)) throw Error("attention probabilities can be read, not restored");
    for (int l : r.layers)
      if (l < 0 || l >= L) throw Error("layer " + std::to_string(l) + " is outside the model's " + std::to_string(L));
    if (r.site == Site::embed && !r.layers.empty() && r.layers != std::vector<int>{0})
      throw Error("the embeddings are layer 0's input: restore them at layer 0");
    for (int t : r.positions)
      if (t < 0 || t >= Tn) throw Error("position " + std::to_string(t) + " is outside the prompt");
    if (r.head >= m_.config().n_heads) throw Error("head " + std::to_string(r.head) + " is outside the model's heads");
  }
  // Equal restorations run once (a window of layers clipped to a shallow model repeats).
  std::map<std::tuple<int, std::vector<int>, std::vector<int>, int>, size_t> seen;
  std::vector<size_t> first_of(items.size());
  std::vector<std::vector<size_t>> copies(items.size());
  std::vector<size_t> unique;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& r = items[i];
    const auto [it, added] = seen.emplace(std::make_tuple(int(r.site), r.layers, r.positions, r.head), i);
    if (added) unique.push_back(i);
    copies[it->second].push_back(i);
  }
  // In order of where they resume; a forward takes the next items at the same layer while
  // the rows they would run for nothing (the positions between theirs and the first) stay
  // under a quarter of the window, and the batch under max_tokens.
  std::vector<Start> start(items.size());
  for (size_t i : unique) start[i] = start_of(items[i]);
  std::sort(unique.begin(), unique.end(), [&](size_t a, size_t b) {
    return std::make_pair(start[a].layer, start[a].pos) < std::make_pair(start[b].layer, start[b].pos);
  });
  auto each_copy = [&](size_t i, int s, const float* logits) {
    for (size_t c : copies[i]) fn(c, s, logits);
  };
  size_t done = 0;
  for (size_t a = 0; a < unique.size();) {
    const Start at = start[unique[a]];
    const int64_t window = Tn - at.pos, slack = std::max<int64_t>(1, window / 4);
    size_t b = a + 1;
    while (b < unique.size() && start[unique[b]].layer == at.layer && start[unique[b]].pos - at.pos <= slack &&
           int64_t(b - a + 1) * S * window <= max_tokens)
      ++b;
    run_resumed(items, std::vector<size_t>(unique.begin() + long(a), unique.begin() + long(b)), at, each_copy);
    for (size_t k = a; k < b; ++k) done += copies[unique[k]].size();
    if (on_progress) on_progress(done, items.size());
    a = b;
  }
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
