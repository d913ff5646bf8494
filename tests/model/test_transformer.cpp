// The whole model against an independent, naive implementation written here from the
// math (no shared code): the loss must agree, and the model's gradients must agree with
// finite differences of the naive loss.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

using namespace slm;
using namespace slm::model;

namespace {

ModelConfig tiny_config(bool tied) {
  ModelConfig c;
  c.vocab_size = 11;
  c.dim = 8;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.hidden_dim = 12;
  c.context = 6;
  c.tie_embeddings = tied;
  return c;
}

// The naive model: a Llama decoder, one sequence at a time, in double.
struct Naive {
  const ModelConfig& c;
  const ParamLayout& L;
  const std::vector<double>& p;
  const double* w(int i) const { return p.data() + L.tensors[size_t(i)].offset; }

  std::vector<double> rmsnorm(const std::vector<double>& x, const double* g) const {
    double ss = 0;
    for (double v : x) ss += v * v;
    double r = 1.0 / std::sqrt(ss / double(x.size()) + double(c.norm_eps));
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * r * g[i];
    return y;
  }
  std::vector<double> linear(const std::vector<double>& x, const double* W, int out) const {
    std::vector<double> y(size_t(out), 0.0);
    for (int o = 0; o < out; ++o)
      for (size_t i = 0; i < x.size(); ++i) y[size_t(o)] += W[size_t(o) * x.size() + i] * x[i];
    return y;
  }
  void rope(std::vector<double>& v, int heads, int pos) const {
    int d = c.head_dim();
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < d / 2; ++i) {
        double ang = pos * std::pow(double(c.rope_theta), -2.0 * i / d);
        double a = v[size_t(h * d + i)], b = v[size_t(h * d + i + d / 2)];
        v[size_t(h * d + i)] = a * std::cos(ang) - b * std::sin(ang);
        v[size_t(h * d + i + d / 2)] = b * std::cos(ang) + a * std::sin(ang);
      }
  }
  // Mean cross-entropy of one sequence.
  double sequence_loss(const std::vector<int32_t>& in, const std::vector<int32_t>& tgt) const {
    const int T = int(in.size()), C = c.dim, d = c.head_dim(), H = c.n_heads, Hkv = c.n_kv_heads;
    std::vector<std::vector<double>> x(static_cast<size_t>(T));
    for (int t = 0; t < T; ++t) x[size_t(t)].assign(w(L.embed) + in[size_t(t)] * C, w(L.embed) + (in[size_t(t)] + 1) * C);
    for (const auto& Ly : L.layers) {
      std::vector<std::vector<double>> q(static_cast<size_t>(T)), k(q.size()), v(q.size());
      for (int t = 0; t < T; ++t) {
        auto xn = rmsnorm(x[size_t(t)], w(Ly.attn_norm));
        q[size_t(t)] = linear(xn, w(Ly.wq), C);
        k[size_t(t)] = linear(xn, w(Ly.wk), Hkv * d);
        v[size_t(t)] = linear(xn, w(Ly.wv), Hkv * d);
        rope(q[size_t(t)], H, t);
        rope(k[size_t(t)], Hkv, t);
      }
      for (int t = 0; t < T; ++t) {
        std::vector<double> att_out(size_t(C), 0.0);
        for (int h = 0; h < H; ++h) {
          int kh = h / (H / Hkv);
          std::vector<double> s(size_t(t + 1));
          double mx = -1e300, sum = 0;
          for (int j = 0; j <= t; ++j) {
            double dot = 0;
            for (int i = 0; i < d; ++i) dot += q[size_t(t)][size_t(h * d + i)] * k[size_t(j)][size_t(kh * d + i)];
            s[size_t(j)] = dot / std::sqrt(double(d));
            mx = std::max(mx, s[size_t(j)]);
          }
          for (auto& e : s) sum += (e = std::exp(e - mx));
          for (int j = 0; j <= t; ++j)
            for (int i = 0; i < d; ++i) att_out[size_t(h * d + i)] += s[size_t(j)] / sum * v[size_t(j)][size_t(kh * d + i)];
        }
        auto o = linear(att_out, w(Ly.wo), C);
        for (int i = 0; i < C; ++i) x[size_t(t)][size_t(i)] += o[size_t(i)];  // attention of t saw only 0..t,
      }                                                                        // whose k, v were fixed above
      for (int t = 0; t < T; ++t) {
        auto xn = rmsnorm(x[size_t(t)], w(Ly.mlp_norm));
        auto g = linear(xn, w(Ly.w_gate), c.hidden_dim), u = linear(xn, w(Ly.w_up), c.hidden_dim);
        for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
        auto m = linear(g, w(Ly.w_down), C);
        for (int i = 0; i < C; ++i) x[size_t(t)][size_t(i)] += m[size_t(i)];
      }
    }
    double total = 0;
    int n = 0;
    for (int t = 0; t < T; ++t) {
      if (tgt[size_t(t)] < 0) continue;
      auto xn = rmsnorm(x[size_t(t)], w(L.final_norm));
      auto z = linear(xn, w(L.lm_head >= 0 ? L.lm_head : L.embed), c.vocab_size);
      double mx = *std::max_element(z.begin(), z.end()), sum = 0;
      for (double e : z) sum += std::exp(e - mx);
      total += std::log(sum) + mx - z[size_t(tgt[size_t(t)])];
      ++n;
    }
    return total / n;
  }
};

struct Batch {
  int B = 2, T = 5;
  std::vector<int32_t> in = {1, 4, 7, 2, 9, 3, 3, 10, 0, 5}, tgt = {4, 7, 2, 9, 6, 3, 10, 0, 5, 8};
};

double naive_batch_loss(const Naive& nv, const Batch& b) {
  double s = 0;
  for (int i = 0; i < b.B; ++i)
    s += nv.sequence_loss({b.in.begin() + i * b.T, b.in.begin() + (i + 1) * b.T},
                          {b.tgt.begin() + i * b.T, b.tgt.begin() + (i + 1) * b.T});
  return s / b.B;
}

// masked: most targets are -1 (as in instruction tuning), which takes the path that
// computes the output head for the counted rows only. Both rows count two targets, so the
// naive mean of per-sequence means is the mean over all counted targets.
void check_model(bool tied, bool masked = false) {
  ModelConfig c = tiny_config(tied);
  Transformer<double> m(c);
  m.init_weights(3);
  // Larger weights than the 0.02 init, so that every path carries signal.
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 20.0;
  for (const auto& t : m.layout().tensors)
    if (t.shape.size() == 1)
      for (int64_t i = 0; i < t.size; ++i) m.params()[t.offset + i] = 1.0 + 0.1 * std::sin(double(i));
  Batch b;
  if (masked) b.tgt = {-1, -1, 2, -1, 6, -1, 10, -1, -1, 8};
  int counted = 0;
  for (int32_t t : b.tgt) counted += t >= 0;
  std::vector<double> p(m.params(), m.params() + m.num_params());
  Naive nv{c, m.layout(), p};
  const double want = naive_batch_loss(nv, b);

  m.zero_grad();
  double got = m.forward_backward(b.in.data(), b.tgt.data(), b.B, b.T, 1.0 / counted);
  EXPECT_NEAR(got, want, 1e-10);

  // Float model, same weights: the same loss to float precision.
  Transformer<float> mf(c);
  for (int64_t i = 0; i < m.num_params(); ++i) mf.params()[i] = float(p[size_t(i)]);
  EXPECT_NEAR(mf.loss(b.in.data(), b.tgt.data(), b.B, b.T), want, 1e-4);

  // Every parameter's gradient against central differences of the naive loss.
  const double h = 1e-5;
  double worst = 0;
  for (int64_t i = 0; i < m.num_params(); ++i) {
    double keep = p[size_t(i)];
    p[size_t(i)] = keep + h;
    double up = naive_batch_loss(nv, b);
    p[size_t(i)] = keep - h;
    double down = naive_batch_loss(nv, b);
    p[size_t(i)] = keep;
    double numeric = (up - down) / (2 * h);
    double err = std::abs(numeric - m.grads()[i]) / std::max(1e-2, std::abs(numeric));
    worst = std::max(worst, err);
    ASSERT_LT(err, 1e-5) << "parameter " << i << ": model " << m.grads()[i] << ", finite differences " << numeric;
  }
}

}  // namespace

TEST(Transformer, LossAndGradientsMatchANaiveImplementationTied) { check_model(true); }
TEST(Transformer, LossAndGradientsMatchANaiveImplementationUntied) { check_model(false); }
TEST(Transformer, MaskedTargetsTakeTheSparseHeadAndStillMatch) {
  check_model(true, true);
  check_model(false, true);
}

TEST(Transformer, ParameterCountsAndNames) {
  ModelConfig c;
  c.vocab_size = 32000;  // llama2.c's stories15M: 15.2M parameters (tied)
  Transformer<float> m(c);
  EXPECT_EQ(m.num_params(), count_params(c));
  EXPECT_NEAR(double(m.num_params()), 15.19e6, 0.02e6);
  EXPECT_EQ(m.layout().tensors[size_t(m.layout().layers[0].wk)].name, "model.layers.0.self_attn.k_proj.weight");
  EXPECT_EQ(m.layout().lm_head, -1);
}

// FLOPs a token, by hand for the tiny preset's shape (tied, vocab 4096): every parameter
// counts as a weight a token multiplies by (the norms' gains too, a rounding error); full
// training costs 6 a weight, a frozen base (LoRA) 4, its adapters 6.
TEST(Transformer, FlopsPerTokenCountsAFrozenBaseAtFourAWeight) {
  ModelConfig c;
  c.vocab_size = 4096, c.dim = 128, c.n_layers = 4, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 344, c.context = 512;
  const double layer = 128.0 * 128 * 2 + 128.0 * 64 * 2 + 3.0 * 128 * 344 + 2 * 128;  // q,o; k,v; MLP; 2 norms
  const double n = 4096.0 * 128 + 4 * layer + 128;
  EXPECT_EQ(double(count_params(c)), n);
  const double attention = 12.0 * 4 * 128 * 512;
  EXPECT_DOUBLE_EQ(flops_per_token(c), 6 * n + attention);
  EXPECT_DOUBLE_EQ(flops_per_token_frozen(c, 1000), 4 * n + 6 * 1000 + attention);
}

TEST(Transformer, GradientsAccumulateOverMicroBatches) {
  ModelConfig c = tiny_config(true);
  Transformer<double> m(c);
  m.init_weights(5);
  Batch b;
  m.zero_grad();
  m.forward_backward(b.in.data(), b.tgt.data(), 2, 5, 1.0 / 10);
  std::vector<double> whole(m.grads(), m.grads() + m.num_params());
  m.zero_grad();
  m.forward_backward(b.in.data(), b.tgt.data(), 1, 5, 1.0 / 10);
  m.forward_backward(b.in.data() + 5, b.tgt.data() + 5, 1, 5, 1.0 / 10);
  for (int64_t i = 0; i < m.num_params(); ++i) EXPECT_NEAR(m.grads()[i], whole[size_t(i)], 1e-12);
}

// What explain/ builds on: a forward resumed at any layer and position from a full one's
// layer inputs, keys and values gives the full forward's final hidden states of those rows.
TEST(Transformer, AResumedForwardContinuesTheFullOne) {
  ModelConfig c = tiny_config(true);
  c.n_layers = 3;
  Transformer<double> m(c);
  m.init_weights(9);
  const int B = 2, Tn = 6, C = c.dim, KV = c.kv_dim(), L = c.n_layers;
  const std::vector<int32_t> in{1, 4, 2, 9, 3, 7, 5, 0, 8, 2, 10, 6};
  // Each layer's input (row L: the last layer's output), as the hook sees them.
  struct Inputs : ForwardHook<double> {
    std::vector<std::vector<double>> x;
    int dim = 0;
    void at(Site s, int l, double* act, int b, int t) override {
      if (s == Site::embed || s == Site::resid) x[size_t(s == Site::embed ? 0 : l + 1)].assign(act, act + size_t(b) * t * dim);
    }
  } inputs;
  inputs.dim = C;
  inputs.x.resize(size_t(L) + 1);
  m.set_hook(&inputs);
  m.forward_hidden(in.data(), B, Tn);
  m.set_hook(nullptr);
  const std::vector<double> full(m.final_hidden(), m.final_hidden() + size_t(B) * Tn * C);
  std::vector<std::vector<double>> k, v;
  for (int l = 0; l < L; ++l) {
    k.emplace_back(m.keys(l), m.keys(l) + size_t(B) * Tn * KV);
    v.emplace_back(m.values(l), m.values(l) + size_t(B) * Tn * KV);
  }
  for (int layer = 0; layer <= L; ++layer)
    for (int past = 0; past < Tn; ++past) {
      const int T2 = Tn - past;
      std::vector<double> x;
      std::vector<std::vector<double>> pk(static_cast<size_t>(L)), pv(static_cast<size_t>(L));
      for (int b = 0; b < B; ++b) {
        const double* from = inputs.x[size_t(layer)].data() + (size_t(b) * Tn + past) * C;
        x.insert(x.end(), from, from + size_t(T2) * C);
        for (int l = 0; l < L; ++l) {
          pk[size_t(l)].insert(pk[size_t(l)].end(), k[size_t(l)].begin() + b * Tn * KV, k[size_t(l)].begin() + (b * Tn + past) * KV);
          pv[size_t(l)].insert(pv[size_t(l)].end(), v[size_t(l)].begin() + b * Tn * KV, v[size_t(l)].begin() + (b * Tn + past) * KV);
        }
      }
      Transformer<double>::Resume r{layer, past, x.data(), {}, {}};
      for (int l = 0; l < L; ++l) r.keys.push_back(pk[size_t(l)].data()), r.values.push_back(pv[size_t(l)].data());
      m.forward_hidden_resumed(r, B, T2);
      for (int b = 0; b < B; ++b)
        for (int t = 0; t < T2; ++t)
          for (int i = 0; i < C; ++i)
            ASSERT_NEAR(m.final_hidden()[(size_t(b) * T2 + t) * C + i], full[(size_t(b) * Tn + past + t) * C + i], 1e-12)
                << "layer " << layer << ", past " << past << ", window " << b << ", row " << t;
    }
  Transformer<double>::Resume late{0, 4, inputs.x[0].data(), {}, {}};
  EXPECT_THROW(m.forward_hidden_resumed(late, 1, 3), Error);  // 4 + 3 positions > the context of 6
  Transformer<double>::Resume no_past{0, 2, inputs.x[0].data(), {}, {}};
  EXPECT_THROW(m.forward_hidden_resumed(no_past, 1, 3), Error);  // no keys and values of the earlier positions
}
