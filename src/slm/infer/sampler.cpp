#include "slm/infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace slm::infer {

uint32_t sample_token(const float* logits_in, int vocab, const SamplingOptions& opt, Rng& rng,
                      const std::vector<uint32_t>& recent) {
  const float* logits = logits_in;
  std::vector<float> penalised;
  if (opt.repetition_penalty != 1.0f && !recent.empty()) {
    penalised.assign(logits_in, logits_in + vocab);
    // Each distinct token is penalised once, however often it appeared (computed from
    // the original logit, so repeats do not compound).
    for (uint32_t t : recent) {
      if (t >= uint32_t(vocab)) continue;
      float z = logits_in[t];
      penalised[t] = z > 0 ? z / opt.repetition_penalty : z * opt.repetition_penalty;
    }
    logits = penalised.data();
  }
  if (opt.temperature <= 0) return uint32_t(std::max_element(logits, logits + vocab) - logits);
  std::vector<uint32_t> idx(static_cast<size_t>(vocab));
  std::iota(idx.begin(), idx.end(), 0u);
  // Candidates by decreasing logit (top-k first, so only k need sorting).
  size_t k = opt.top_k > 0 ? std::min<size_t>(size_t(opt.top_k), idx.size()) : idx.size();
  std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(),
                    [&](uint32_t a, uint32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
  idx.resize(k);
  std::vector<double> p(k);
  double mx = logits[idx[0]], sum = 0;
  for (size_t i = 0; i < k; ++i) sum += (p[i] = std::exp((double(logits[idx[i]]) - mx) / opt.temperature));
  size_t keep = k;
  if (opt.top_p < 1) {  // the smallest prefix whose probability reaches top_p
    double acc = 0;
    for (size_t i = 0; i < k; ++i) {
      acc += p[i] / sum;
      if (acc >= opt.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (opt.min_p > 0)  // p[0] is the best: keep those at least min_p times as likely
    while (keep > 1 && p[keep - 1] < opt.min_p * p[0]) --keep;
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i];
  double r = rng.uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    r -= p[i];
    if (r <= 0) return idx[i];
  }
  return idx[keep - 1];
}

}  // namespace slm::infer
