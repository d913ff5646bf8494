#include "slm/explain/lens.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "slm/explain/patcher.h"
#include "slm/tensor/ops.h"
#include "slm/util/error.h"

namespace slm::explain {

using model::Site;

LensResult logit_lens(model::Transformer<float>& m, const std::vector<int32_t>& tokens, int top, int32_t answer) {
  const auto& cfg = m.config();
  const int L = cfg.n_layers, C = cfg.dim, V = cfg.vocab_size, Tn = int(tokens.size());
  if (top < 1) throw Error("--top must be at least 1");
  top = std::min(top, V);
  Patcher p(m, tokens, tokens);
  LensResult r;
  r.tokens = tokens, r.answer = answer;
  std::vector<float> xn(size_t(Tn) * C), rstd(static_cast<size_t>(Tn)), logits(size_t(Tn) * V);
  std::vector<int32_t> order(static_cast<size_t>(V));
  for (int row = 0; row <= L; ++row) {
    const auto& x = row == 0 ? p.source(Site::embed, 0) : p.source(Site::resid, row - 1);
    // logits = W_out · rmsnorm_final(x): what the head would read if the model ended here
    tensor::rmsnorm_forward(xn.data(), rstd.data(), x.data(), m.param(m.layout().final_norm), Tn, C, cfg.norm_eps);
    tensor::matmul_forward(logits.data(), xn.data(), m.param(m.layout().output_head()), Tn, C, V);
    auto& ids = r.top_ids.emplace_back(size_t(Tn));
    auto& probs = r.top_probs.emplace_back(size_t(Tn));
    for (int t = 0; t < Tn; ++t) {
      const float* l = logits.data() + size_t(t) * V;
      std::iota(order.begin(), order.end(), 0);
      std::partial_sort(order.begin(), order.begin() + top, order.end(), [&](int32_t a, int32_t b) { return l[a] > l[b]; });
      for (int k = 0; k < top; ++k) {
        ids[size_t(t)].push_back(order[size_t(k)]);
        probs[size_t(t)].push_back(softmax_prob(l, V, order[size_t(k)]));
      }
      if (answer >= 0 && t == Tn - 1) r.answer_probs.push_back(softmax_prob(l, V, answer));
    }
  }
  return r;
}

std::vector<std::vector<float>> attention_maps(model::Transformer<float>& m, const std::vector<int32_t>& tokens) {
  Patcher p(m, tokens, tokens);
  std::vector<std::vector<float>> maps;
  for (int l = 0; l < m.config().n_layers; ++l) maps.push_back(p.source(Site::attn_probs, l));
  return maps;
}

}  // namespace slm::explain
