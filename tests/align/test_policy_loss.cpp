// The GRPO and DPO losses: their derivatives by log p against finite differences, and
// the whole chain (losses -> weights -> the model's backward pass) against finite
// differences of the loss computed from the model's own log-probabilities, in double.
#include <gtest/gtest.h>

#include <cmath>

#include "slm/align/policy_loss.h"
#include "slm/util/error.h"

using namespace slm;
using namespace slm::align;

namespace {

model::ModelConfig small_config() {
  model::ModelConfig c;
  c.vocab_size = 11, c.dim = 8, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.hidden_dim = 12, c.context = 6;
  return c;
}

// A model with weights large enough that every path carries signal.
void init(model::Transformer<double>& m) {
  m.init_weights(5);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 20.0;
}

// Two rows [2, 5]: a prompt (targets -1) then completion tokens; row 1 shorter (padding).
struct Rows {
  int B = 2, T = 5;
  std::vector<int32_t> x = {1, 4, 7, 2, 9, 3, 3, 10, 0, 0};
  std::vector<int32_t> y = {-1, 7, 2, 9, 6, -1, 10, 5, -1, -1};
};

// Checks d(loss)/d(theta) from `weights` (forward_backward with grad_scale) against
// central differences of `loss_of(logp)` on a spread of parameters.
template <class LossOf>
void check_chain(model::Transformer<double>& m, const Rows& r, const std::vector<float>& weights, double grad_scale,
                 double tolerance, LossOf loss_of) {
  m.zero_grad();
  m.forward_backward(r.x.data(), r.y.data(), r.B, r.T, grad_scale, nullptr, weights.data());
  std::vector<double> g(m.grads(), m.grads() + m.num_params());
  const double h = 1e-5;
  double worst = 0;
  int checked = 0;
  for (int64_t i = 0; i < m.num_params(); i += 7, ++checked) {
    const double keep = m.params()[i];
    std::vector<double> lp;
    m.params()[i] = keep + h;
    token_logprobs(m, r.x.data(), r.y.data(), r.B, r.T, lp);
    const double up = loss_of(lp);
    m.params()[i] = keep - h;
    token_logprobs(m, r.x.data(), r.y.data(), r.B, r.T, lp);
    const double down = loss_of(lp);
    m.params()[i] = keep;
    const double numeric = (up - down) / (2 * h);
    // The weights pass through float (about 6e-8 relative): where token gradients cancel
    // to a small sum, that is an absolute error of a few 1e-7, hence the 1e-2 floor.
    const double err = std::abs(numeric - g[size_t(i)]) / std::max(1e-2, std::abs(numeric));
    worst = std::max(worst, err);
    ASSERT_LT(err, tolerance) << "parameter " << i << ": backward " << g[size_t(i)] << ", finite differences " << numeric;
  }
  EXPECT_GT(checked, 30);
}

// The policy's log-probabilities of the rows, and those of a sampling policy and a
// reference a little away from it, so that ratios differ from 1 (some clipped) and the KL
// term pulls.
struct ThreePolicies {
  std::vector<double> logp, old, ref;
};
ThreePolicies three_policies(model::Transformer<double>& m, const Rows& r) {
  ThreePolicies p;
  token_logprobs(m, r.x.data(), r.y.data(), r.B, r.T, p.logp);
  p.old = p.ref = p.logp;
  for (size_t i = 0; i < p.old.size(); ++i) p.old[i] += 0.3 * std::sin(double(i) + 1), p.ref[i] += 0.4 * std::cos(double(i));
  return p;
}

}  // namespace

TEST(GrpoLoss, TokenDerivativeMatchesFiniteDifferences) {
  const double h = 1e-6;
  // (logp, old, ref, advantage): inside the clip range, clipped on either side, both signs.
  const double cases[][4] = {{-1.0, -1.05, -1.3, 0.8}, {-1.0, -1.05, -0.7, -1.2}, {-0.5, -1.0, -0.9, 1.5},
                             {-0.5, -1.0, -0.4, -1.5}, {-2.0, -1.5, -2.2, 1.0},   {-2.0, -1.5, -2.2, -1.0}};
  for (const auto& c : cases) {
    TokenTerm t = grpo_token(c[0], c[1], c[2], c[3], 0.2, 0.04);
    const double up = grpo_token(c[0] + h, c[1], c[2], c[3], 0.2, 0.04).loss;
    const double down = grpo_token(c[0] - h, c[1], c[2], c[3], 0.2, 0.04).loss;
    EXPECT_NEAR(t.dlogp, (up - down) / (2 * h), 1e-6) << c[0] << " " << c[1] << " " << c[3];
  }
  // Ratio 1.65 with a positive advantage: past 1 + eps, the token no longer pulls.
  TokenTerm clipped = grpo_token(-0.5, -1.0, -0.5, 1.5, 0.2, 0.0);
  EXPECT_TRUE(clipped.clipped);
  EXPECT_EQ(clipped.dlogp, 0.0);
  // The same ratio with a negative advantage is not clipped: the min keeps the worse side.
  EXPECT_FALSE(grpo_token(-0.5, -1.0, -0.5, -1.5, 0.2, 0.0).clipped);
}

TEST(GrpoLoss, KlIsZeroWhenThePolicyIsTheReference) {
  for (double lp : {-0.1, -2.0, -7.5}) {
    TokenTerm t = grpo_token(lp, lp, lp, 0.0, 0.2, 0.04);
    EXPECT_EQ(t.kl, 0.0);
    EXPECT_EQ(t.dlogp, 0.0);
    EXPECT_EQ(t.loss, 0.0);
  }
  // And positive otherwise (k3 >= 0).
  EXPECT_GT(grpo_token(-1.0, -1.0, -1.5, 0.0, 0.2, 0.04).kl, 0.0);
  EXPECT_GT(grpo_token(-1.0, -1.0, -0.5, 0.0, 0.2, 0.04).kl, 0.0);
}

TEST(GrpoLoss, GroupAdvantagesAreNormalisedWithinEachGroup) {
  auto a = group_advantages({1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5}, 4);
  double mean = (a[0] + a[1] + a[2] + a[3]) / 4, var = 0;
  for (int i = 0; i < 4; ++i) var += (a[size_t(i)] - mean) * (a[size_t(i)] - mean) / 4;
  EXPECT_NEAR(mean, 0.0, 1e-12);
  EXPECT_NEAR(var, 1.0, 1e-3);
  EXPECT_LT(a[0], a[3]);
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a[size_t(i)], 0.0);  // all alike: nothing to learn
}

// The GRPO loss of the rows, with advantages adv and (non-empty) token credits, through
// the model against finite differences; returns the batch terms.
static GrpoBatchTerms check_grpo_chain(const std::vector<double>& adv, const std::vector<float>& credit) {
  model::Transformer<double> m(small_config());
  init(m);
  Rows r;
  auto [logp, old, ref] = three_policies(m, r);
  const double eps = 0.2, beta = 0.1;
  const float* c = credit.empty() ? nullptr : credit.data();
  auto terms = grpo_batch(logp, old, ref, adv, r.y.data(), r.B, r.T, eps, beta, c);
  check_chain(m, r, terms.weights, 1.0 / r.B, 5e-5, [&](const std::vector<double>& lp) {
    return grpo_batch(lp, old, ref, adv, r.y.data(), r.B, r.T, eps, beta, c).loss;
  });
  if (c) {  // the credit only adds to its tokens' weights, undivided by the row's length
    auto plain = grpo_batch(logp, old, ref, adv, r.y.data(), r.B, r.T, eps, beta);
    for (size_t i = 0; i < credit.size(); ++i) {
      const double own = credit[i] != 0.f ? -grpo_token(logp[i], old[i], ref[i], credit[i], eps, 0.0).dlogp : 0.0;
      EXPECT_NEAR(terms.weights[i] - plain.weights[i], own, 1e-6) << "position " << i;
    }
  }
  return terms;
}

TEST(GrpoLoss, GradientThroughTheModelMatchesFiniteDifferences) {
  auto terms = check_grpo_chain({1.3, -0.7}, {});
  EXPECT_GT(terms.clip_fraction, 0.0);
  EXPECT_LT(terms.clip_fraction, 1.0);
}

// With a token's own credit (GRPO's --word-credit) on a completion token of each row.
TEST(GrpoLoss, TokenCreditGradientMatchesFiniteDifferences) {
  std::vector<float> credit(Rows{}.y.size(), 0.f);
  credit[2] = 0.5f, credit[6] = 0.8f;
  check_grpo_chain({0.6, -0.9}, credit);
}

TEST(DpoLoss, PairDerivativesMatchFiniteDifferences) {
  const double h = 1e-6;
  for (bool ipo : {false, true})
    for (double beta : {0.1, 0.5}) {
      const double pc = -12.0, pr = -10.5, rc = -12.4, rr = -10.0;
      PairTerm t = dpo_pair(pc, pr, rc, rr, beta, ipo);
      EXPECT_NEAR(t.dchosen, (dpo_pair(pc + h, pr, rc, rr, beta, ipo).loss - dpo_pair(pc - h, pr, rc, rr, beta, ipo).loss) / (2 * h), 1e-6);
      EXPECT_NEAR(t.drejected, (dpo_pair(pc, pr + h, rc, rr, beta, ipo).loss - dpo_pair(pc, pr - h, rc, rr, beta, ipo).loss) / (2 * h), 1e-6);
      EXPECT_NEAR(t.margin, 0.9, 1e-12);
    }
  // With the RPO term: the chosen response's mean NLL (5 tokens here) joins the loss.
  for (bool ipo : {false, true}) {
    const double pc = -12.0, pr = -10.5, rc = -12.4, rr = -10.0, w = 0.7;
    auto loss = [&](double c, double r) { return dpo_pair(c, r, rc, rr, 0.2, ipo, w, 5).loss; };
    PairTerm t = dpo_pair(pc, pr, rc, rr, 0.2, ipo, w, 5);
    EXPECT_NEAR(t.loss, dpo_pair(pc, pr, rc, rr, 0.2, ipo).loss + w * 12.0 / 5, 1e-12);
    EXPECT_NEAR(t.dchosen, (loss(pc + h, pr) - loss(pc - h, pr)) / (2 * h), 1e-6);
    EXPECT_NEAR(t.drejected, (loss(pc, pr + h) - loss(pc, pr - h)) / (2 * h), 1e-6);
  }
  // At the reference (margin 0) DPO's loss is log 2, and the chosen side is pushed up.
  PairTerm zero = dpo_pair(-3, -4, -3, -4, 0.1, false);
  EXPECT_NEAR(zero.loss, std::log(2.0), 1e-12);
  EXPECT_LT(zero.dchosen, 0.0);
  // Large margins do not overflow.
  EXPECT_TRUE(std::isfinite(dpo_pair(0, -1e4, 0, 0, 1.0, false).loss));
  EXPECT_TRUE(std::isfinite(dpo_pair(-1e4, 0, 0, 0, 1.0, false).loss));
}

TEST(DpoLoss, GradientThroughTheModelMatchesFiniteDifferences) {
  model::Transformer<double> m(small_config());
  init(m);
  Rows r;  // row 0: the chosen response, row 1: the rejected one
  const double rc = -9.0, rr = -7.5, beta = 0.3;
  auto sums = [&](const std::vector<double>& lp) {
    double c = 0, j = 0;
    for (int t = 0; t < r.T; ++t) c += lp[size_t(t)], j += lp[size_t(r.T + t)];
    return std::pair<double, double>{c, j};
  };
  const int chosen_tokens = 4;  // row 0's targets
  for (auto [ipo, nll] : {std::pair{false, 0.0}, {true, 0.0}, {false, 0.5}}) {
    std::vector<double> lp;
    token_logprobs(m, r.x.data(), r.y.data(), r.B, r.T, lp);
    auto [c, j] = sums(lp);
    PairTerm p = dpo_pair(c, j, rc, rr, beta, ipo, nll, chosen_tokens);
    std::vector<float> w(r.x.size(), 0.f);
    for (int t = 0; t < r.T; ++t) w[size_t(t)] = float(-p.dchosen), w[size_t(r.T + t)] = float(-p.drejected);
    // Every token of a response carries the same float weight, so the per-token terms
    // (large here: weights x20) cancel in float: a looser bound, still far below any
    // sign or factor error.
    check_chain(m, r, w, 1.0, 2e-4, [&](const std::vector<double>& l) {
      auto [cc, jj] = sums(l);
      return dpo_pair(cc, jj, rc, rr, beta, ipo, nll, chosen_tokens).loss;
    });
  }
}

TEST(GrpoLoss, AdvantagesScaledByTheBatchOrNotAtAll) {
  const std::vector<double> r = {1, 2, 3, 4, 0.5, 0.5, 0.5, 0.6};
  // none (Dr. GRPO): r - the group's mean, so the near-tie group pushes only as hard as its
  // 0.1 difference, where group scaling blows it up to the same size as the first group.
  auto none = group_advantages(r, 4, RewardScale::none);
  EXPECT_NEAR(none[0], 1 - 2.5, 1e-12);
  EXPECT_NEAR(none[7], 0.6 - 0.525, 1e-12);
  auto group = group_advantages(r, 4, RewardScale::group);
  EXPECT_GT(group[7], 1.5);  // 0.075 / 0.043: the noise of the second group made large
  // batch: the same differences over one std, that of all eight rewards.
  auto batch = group_advantages(r, 4, RewardScale::batch);
  const double sd = reward_std(r, 0, 8);
  for (size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(batch[i], none[i] / (sd + 1e-4), 1e-12) << i;
  EXPECT_NEAR(reward_std({2, 4}, 0, 2), 1.0, 1e-12);
  EXPECT_EQ(parse_reward_scale("none"), RewardScale::none);
  EXPECT_STREQ(reward_scale_name(RewardScale::batch), "batch");
  try {
    parse_reward_scale("grup");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected group, batch or none"), std::string::npos) << e.what();
  }
}
