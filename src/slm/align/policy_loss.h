#pragma once
// The losses of preference and reward tuning, written per token (or per sequence) as
// "the loss and its derivative with respect to log p(token)". The model's backward pass
// already computes the gradient of weighted cross-entropy, -sum_t w_t log p_t, so a loss
// whose derivative is d_t by log p_t trains through it with w_t = -d_t: no new backward.
//
// GRPO (DeepSeekMath, Shao et al. 2024, eq. 3): for completion o_i of a group of G,
//   L = -1/G sum_i 1/|o_i| sum_t [ min(r_t A_i, clip(r_t, 1-eps, 1+eps) A_i) - beta KL_t ]
//   r_t = pi(o_t) / pi_old(o_t),  A_i = (R_i - mean(R)) / std(R) over the group,
//   KL_t = pi_ref/pi - log(pi_ref/pi) - 1   (the k3 estimator: unbiased, always >= 0).
// DPO (Rafailov et al. 2023): h = (log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l)),
//   L = -log sigmoid(beta h);  IPO (Azar et al. 2023): L = (h - 1/(2 beta))^2.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/transformer.h"

namespace slm::align {

// log p(targets[n] | inputs up to n) for every position of a batch [B, T]; 0 where the
// target is -1. Runs m.forward (the model's logits are overwritten).
template <class T>
void token_logprobs(model::Transformer<T>& m, const int32_t* inputs, const int32_t* targets, int B, int Tn,
                    std::vector<double>& out);

// The same from logits already computed [N, V] (a training forward's).
template <class T>
void logprobs_of_logits(const T* logits, const int32_t* targets, int N, int V, std::vector<double>& out);

// Overwrites logits [N, V] with d loss / d logits, given d loss / d log p(target) of each
// row: dlogp[n] · (onehot(target) - softmax); rows whose target is -1 get zeros. What a
// loss on sequence log-probabilities hands Transformer::forward_backward_logits.
template <class T>
void logits_grad_of_dlogp(T* logits, const int32_t* targets, const std::vector<double>& dlogp, int N, int V);

struct TokenTerm {
  double loss = 0, dlogp = 0;  // the token's loss and d loss / d log p(token)
  double kl = 0;               // its KL estimate to the reference
  bool clipped = false;        // the ratio left [1-eps, 1+eps] and the min took the clipped side
};

TokenTerm grpo_token(double logp, double logp_old, double logp_ref, double advantage, double clip_eps, double beta);

// How a completion's reward becomes its advantage, r - mean of its group divided by:
//   group  the group's std (DeepSeekMath; TRL's scale_rewards="group"),
//   batch  the std of every reward in the batch (TRL's "batch"),
//   none   nothing (Dr. GRPO, Liu et al. 2025): a group whose rewards differ by noise
//          (grammar, length) then pushes as little as that noise, not as hard as a group
//          where one completion did what was asked.
enum class RewardScale { group, batch, none };
RewardScale parse_reward_scale(const std::string& name);  // throws naming --scale-rewards
const char* reward_scale_name(RewardScale s);

// The population std of rewards[begin, begin + n).
double reward_std(const std::vector<double>& rewards, size_t begin, int n);

// The advantages of groups of `group` consecutive rewards (population std, + 1e-4 when
// dividing); a group whose rewards are all equal gets zeros.
std::vector<double> group_advantages(const std::vector<double>& rewards, int group,
                                     RewardScale scale = RewardScale::group);

// The GRPO loss of a batch of rows [B, T] (targets -1 are not completion tokens): each
// row's tokens averaged, rows averaged. Fills weights (one a position) so that the
// gradient of -sum_t weights_t log p_t / B equals the gradient of the loss, i.e. a
// Transformer::forward_backward with grad_scale 1/B and these weights.
//
// credit (optional, one a position, 0 mostly): a token's own advantage c_t besides its
// row's, for a reward earned at that token (GRPO's --word-credit: the tokens that copied a
// required word). It adds -min(r_t c_t, clip(r_t) c_t) to the row's loss, not averaged
// over the row: a reward of one token is not spread over the 200 of a story. No baseline
// is taken here: the caller gives c_t as an advantage already (GRPO makes it relative to
// the group, grpo.h).
struct GrpoBatchTerms {
  double loss = 0, kl = 0, clip_fraction = 0;  // kl: the mean of the rows' mean KL
  std::vector<float> weights;
};
GrpoBatchTerms grpo_batch(const std::vector<double>& logp, const std::vector<double>& logp_old,
                          const std::vector<double>& logp_ref, const std::vector<double>& advantages,
                          const int32_t* targets, int B, int Tn, double clip_eps, double beta,
                          const float* credit = nullptr);

struct PairTerm {
  double loss = 0;
  double dchosen = 0, drejected = 0;  // d loss / d (sum of log p) of the chosen and the rejected response
  double margin = 0;                  // h: the implicit reward margin (log-ratio of chosen minus rejected)
};
// pol_*/ref_*: the summed log-probabilities of each response under the policy and the reference.
// nll_weight > 0 adds nll_weight times the chosen response's mean negative log-likelihood
// (-pol_chosen / chosen_tokens), as RPO / IRPO do (Pang et al. 2024; TRL's rpo_alpha):
// DPO alone may lower both responses' likelihoods as long as the rejected one falls
// faster, and this term holds the chosen one up.
PairTerm dpo_pair(double pol_chosen, double pol_rejected, double ref_chosen, double ref_rejected, double beta,
                  bool ipo, double nll_weight = 0, int chosen_tokens = 1);

}  // namespace slm::align
