#include "slm/explain/patch.h"

#include "slm/explain/patcher.h"
#include "slm/util/error.h"

namespace slm::explain {

using model::Site;

PatchResult activation_patch(model::Transformer<float>& m, const std::vector<int32_t>& clean,
                             const std::vector<int32_t>& counterfactual, int32_t answer, int32_t cf_answer) {
  const int L = m.config().n_layers, H = m.config().n_heads, V = m.config().vocab_size;
  if (answer == cf_answer)
    throw Error("the answer and the counterfactual answer are the same token: the logit difference is always 0");
  for (int32_t id : {answer, cf_answer})
    if (id < 0 || id >= V) throw Error("answer token id " + std::to_string(id) + " is outside the vocabulary");
  Patcher p(m, clean, counterfactual);
  const int Tn = p.tokens();
  PatchResult r;
  r.clean = clean, r.counterfactual = counterfactual, r.answer = answer, r.cf_answer = cf_answer;

  // Every patch of the run, in one list; Patcher batches them.
  std::vector<int> all(static_cast<size_t>(Tn));
  for (int t = 0; t < Tn; ++t) all[size_t(t)] = t;
  std::vector<Restore> items{Restore{Site::resid, {}, {}}};  // item 0: no patch, the counterfactual run
  for (int row = 0; row <= L; ++row)
    for (int t = 0; t < Tn; ++t) items.push_back({row == 0 ? Site::embed : Site::resid, {std::max(0, row - 1)}, {t}});
  for (int l = 0; l < L; ++l) items.push_back({Site::attn_out, {l}, all});
  for (int l = 0; l < L; ++l) items.push_back({Site::mlp_out, {l}, all});
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) items.push_back({Site::attn_heads, {l}, all, h});
  const auto logits = p.last_logits(items);

  auto ld = [&](const float* l) { return double(l[answer]) - double(l[cf_answer]); };
  r.ld_clean = ld(p.source_logits().data());
  r.p_clean = softmax_prob(p.source_logits().data(), V, answer);
  r.ld_cf = ld(logits.data());
  r.p_cf = softmax_prob(logits.data(), V, answer);
  const double span = r.ld_clean - r.ld_cf;
  size_t i = 1;
  auto share = [&](size_t item) { return span == 0 ? 0.0 : (ld(logits.data() + item * V) - r.ld_cf) / span; };
  r.resid.assign(size_t(L) + 1, std::vector<double>(size_t(Tn)));
  r.resid_p = r.resid;
  for (int row = 0; row <= L; ++row)
    for (int t = 0; t < Tn; ++t, ++i) {
      r.resid[size_t(row)][size_t(t)] = share(i);
      r.resid_p[size_t(row)][size_t(t)] = softmax_prob(logits.data() + i * V, V, answer);
    }
  for (int l = 0; l < L; ++l) r.attn.push_back(share(i++));
  for (int l = 0; l < L; ++l) r.mlp.push_back(share(i++));
  r.heads.assign(size_t(L), std::vector<double>(size_t(H)));
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) r.heads[size_t(l)][size_t(h)] = share(i++);
  return r;
}

}  // namespace slm::explain
