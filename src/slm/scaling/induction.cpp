#include "slm/scaling/induction.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "slm/model/hooks.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::scaling {

double prefix_matching_score(const float* probs, int T, int offset, int L) {
  if (L < 2 || offset + 2 * L > T) throw Error("prefix matching needs 2L + offset <= T and L >= 2");
  double s = 0;
  for (int i = 0; i + 1 < L; ++i) {
    const int q = offset + L + i, k = offset + i + 1;
    s += probs[size_t(q) * size_t(T) + size_t(k)];
  }
  return s / double(L - 1);
}

namespace {

// Sums each head's prefix-matching score over the windows of a forward pass.
class PrefixMatchHook : public model::ForwardHook<float> {
 public:
  PrefixMatchHook(int layers, int heads, int offset, int L)
      : sums(size_t(layers), std::vector<double>(size_t(heads), 0.0)), heads_(heads), offset_(offset), L_(L) {}
  void at(model::Site site, int layer, float* act, int B, int Tn) override {
    if (site != model::Site::attn_probs) return;
    for (int b = 0; b < B; ++b)
      for (int h = 0; h < heads_; ++h)
        sums[size_t(layer)][size_t(h)] +=
            prefix_matching_score(act + (size_t(b) * heads_ + size_t(h)) * size_t(Tn) * size_t(Tn), Tn, offset_, L_);
  }
  std::vector<std::vector<double>> sums;

 private:
  int heads_, offset_, L_;
};

}  // namespace

InductionScore induction_score(model::Transformer<float>& m, int L, int windows, int start_token, int vocab_limit,
                               uint64_t seed) {
  const auto& c = m.config();
  L = std::min(L, (c.context - 1) / 2);
  if (L < 2 || windows < 1 || vocab_limit < 2) throw Error("induction score: need L >= 2, windows >= 1 and a vocabulary");
  const int T = 1 + 2 * L;
  std::vector<int32_t> x(size_t(windows) * size_t(T));
  Rng rng(seed);
  for (int b = 0; b < windows; ++b) {
    int32_t* w = x.data() + size_t(b) * size_t(T);
    w[0] = start_token;
    for (int i = 0; i < L; ++i) w[1 + i] = w[1 + L + i] = int32_t(rng.below(uint32_t(vocab_limit)));
  }
  PrefixMatchHook hook(c.n_layers, c.n_heads, 1, L);
  m.set_hook(&hook);
  m.forward_hidden(x.data(), windows, T);  // attention is all we read: no output head
  m.set_hook(nullptr);
  InductionScore r;
  r.per_head = hook.sums;
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h) {
      double& v = r.per_head[size_t(l)][size_t(h)];
      v /= windows;
      if (v > r.best || r.layer < 0) r.best = v, r.layer = l, r.head = h;
    }
  return r;
}

nlohmann::json induction_record(model::Transformer<float>& m, int L, int windows, int eot, uint64_t seed) {
  auto s = induction_score(m, L, windows, eot, std::min(eot, m.config().vocab_size - 1), seed);
  return {{"score", s.best}, {"layer", s.layer}, {"head", s.head}, {"per_head", s.per_head}};
}

}  // namespace slm::scaling
