#include "slm/align/policy_loss.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "slm/util/error.h"

namespace slm::align {

template <class T>
void logprobs_of_logits(const T* logits, const int32_t* targets, int N, int V, std::vector<double>& out) {
  out.assign(size_t(N), 0.0);
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    if (targets[n] < 0) continue;
    const T* z = logits + int64_t(n) * V;
    const T mx = *std::max_element(z, z + V);
    double sum = 0;
    for (int j = 0; j < V; ++j) sum += std::exp(double(z[j] - mx));
    out[size_t(n)] = double(z[targets[n]] - mx) - std::log(sum);  // log softmax at the target
  }
}

template <class T>
void token_logprobs(model::Transformer<T>& m, const int32_t* inputs, const int32_t* targets, int B, int Tn,
                    std::vector<double>& out) {
  m.forward(inputs, B, Tn);
  logprobs_of_logits(m.logits(), targets, B * Tn, m.config().vocab_size, out);
}

template <class T>
void logits_grad_of_dlogp(T* logits, const int32_t* targets, const std::vector<double>& dlogp, int N, int V) {
#pragma omp parallel for schedule(static)
  for (int n = 0; n < N; ++n) {
    T* z = logits + int64_t(n) * V;
    if (targets[n] < 0 || dlogp[size_t(n)] == 0) {
      std::fill(z, z + V, T(0));
      continue;
    }
    const T mx = *std::max_element(z, z + V);
    double sum = 0;
    for (int j = 0; j < V; ++j) sum += std::exp(double(z[j] - mx));
    // d log p(t) / d z_j = [j = t] - softmax_j
    for (int j = 0; j < V; ++j) z[j] = T(-dlogp[size_t(n)] * std::exp(double(z[j] - mx)) / sum);
    z[targets[n]] += T(dlogp[size_t(n)]);
  }
}

#define SLM_POLICY_LOSS(T)                                                                                        \
  template void token_logprobs<T>(model::Transformer<T>&, const int32_t*, const int32_t*, int, int,               \
                                  std::vector<double>&);                                                          \
  template void logprobs_of_logits<T>(const T*, const int32_t*, int, int, std::vector<double>&);                  \
  template void logits_grad_of_dlogp<T>(T*, const int32_t*, const std::vector<double>&, int, int);
SLM_POLICY_LOSS(float)
SLM_POLICY_LOSS(double)
#undef SLM_POLICY_LOSS

TokenTerm grpo_token(double logp, double logp_old, double logp_ref, double adv, double eps, double beta) {
  TokenTerm t;
  const double ratio = std::exp(logp - logp_old);
  const double unclipped = ratio * adv, clipped = std::clamp(ratio, 1 - eps, 1 + eps) * adv;
  // The min is the pessimistic bound: past the clip range, in the direction the advantage
  // pushes, the objective goes flat and the token stops pulling.
  const bool use_unclipped = unclipped <= clipped;
  t.clipped = !use_unclipped;
  const double surrogate = use_unclipped ? unclipped : clipped;
  const double d_surrogate = use_unclipped ? unclipped : 0.0;  // d(ratio A)/d logp = ratio A
  const double lr = logp_ref - logp;                           // log(pi_ref / pi)
  t.kl = std::exp(lr) - lr - 1;
  const double d_kl = 1 - std::exp(lr);
  t.loss = -surrogate + beta * t.kl;
  t.dlogp = -d_surrogate + beta * d_kl;
  return t;
}

RewardScale parse_reward_scale(const std::string& name) {
  if (name == "group") return RewardScale::group;
  if (name == "batch") return RewardScale::batch;
  if (name == "none") return RewardScale::none;
  throw Error(fmt::format("unknown reward scaling '{}': expected group, batch or none", name), "--scale-rewards");
}

const char* reward_scale_name(RewardScale s) {
  return s == RewardScale::group ? "group" : s == RewardScale::batch ? "batch" : "none";
}

double reward_std(const std::vector<double>& r, size_t begin, int n) {
  double mean = 0, var = 0;
  for (int i = 0; i < n; ++i) mean += r[begin + size_t(i)];
  mean /= n;
  for (int i = 0; i < n; ++i) var += (r[begin + size_t(i)] - mean) * (r[begin + size_t(i)] - mean);
  return std::sqrt(var / n);
}

std::vector<double> group_advantages(const std::vector<double>& r, int group, RewardScale scale) {
  std::vector<double> a(r.size(), 0.0);
  const double batch_sd = r.empty() ? 0.0 : reward_std(r, 0, int(r.size()));
  for (size_t g = 0; g + size_t(group) <= r.size(); g += size_t(group)) {
    const double sd = reward_std(r, g, group);
    if (sd < 1e-9) continue;  // nothing to prefer within the group
    double mean = 0;
    for (int i = 0; i < group; ++i) mean += r[g + size_t(i)] / group;
    const double div = scale == RewardScale::group ? sd + 1e-4 : scale == RewardScale::batch ? batch_sd + 1e-4 : 1.0;
    for (int i = 0; i < group; ++i) a[g + size_t(i)] = (r[g + size_t(i)] - mean) / div;
  }
  return a;
}

GrpoBatchTerms grpo_batch(const std::vector<double>& logp, const std::vector<double>& logp_old,
                          const std::vector<double>& logp_ref, const std::vector<double>& adv, const int32_t* targets,
                          int B, int Tn, double eps, double beta, const float* credit) {
  GrpoBatchTerms out;
  out.weights.assign(size_t(B) * Tn, 0.f);
  int64_t tokens = 0, clipped = 0;
  for (int b = 0; b < B; ++b) {
    int n = 0;
    for (int t = 0; t < Tn; ++t) n += targets[b * Tn + t] >= 0;
    if (n == 0) continue;
    double row_loss = 0, row_kl = 0, row_credit = 0;
    for (int t = 0; t < Tn; ++t) {
      const size_t i = size_t(b) * Tn + t;
      if (targets[i] < 0) continue;
      TokenTerm term = grpo_token(logp[i], logp_old[i], logp_ref[i], adv[size_t(b)], eps, beta);
      row_loss += term.loss, row_kl += term.kl, clipped += term.clipped, ++tokens;
      // d L / d log p = dlogp / (n B); the backward pass takes -weight per log p, and
      // grad_scale 1/B does the rows' mean.
      double dlogp = term.dlogp / n;
      if (credit && credit[i] != 0.f) {  // the token's own reward, clipped as the row's, no KL twice
        TokenTerm own = grpo_token(logp[i], logp_old[i], logp_ref[i], double(credit[i]), eps, 0.0);
        row_credit += own.loss, dlogp += own.dlogp;
      }
      out.weights[i] = float(-dlogp);
    }
    out.loss += (row_loss / n + row_credit) / B;
    out.kl += row_kl / n / B;
  }
  out.clip_fraction = tokens ? double(clipped) / double(tokens) : 0.0;
  return out;
}

PairTerm dpo_pair(double pc, double pr, double rc, double rr, double beta, bool ipo, double nll_weight,
                  int chosen_tokens) {
  PairTerm p;
  p.margin = (pc - rc) - (pr - rr);
  double dh;
  if (ipo) {
    const double d = p.margin - 1 / (2 * beta);
    p.loss = d * d;
    dh = 2 * d;
  } else {
    const double z = beta * p.margin;
    // -log sigmoid(z) = log(1 + e^-z), computed without overflow either way.
    p.loss = z > 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));
    dh = -beta / (1 + std::exp(z));  // -beta sigmoid(-z)
  }
  p.dchosen = dh, p.drejected = -dh;
  if (nll_weight > 0) {
    const double n = std::max(1, chosen_tokens);
    p.loss += nll_weight * -pc / n;
    p.dchosen -= nll_weight / n;
  }
  return p;
}

}  // namespace slm::align
