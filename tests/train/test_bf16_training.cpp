// Mixed-precision training (train.dtype bf16): bf16 products with fp32 master weights and
// AdamW state must learn as fp32 does. 300 steps of the same model, from the same weights,
// on the same batches of a small synthetic language (a fixed Markov chain, so that there
// is something to learn): the loss curves, averaged over windows of 20 steps, agree within
// 2% at every window, while the runs are not bit-identical (bf16 really ran).
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/tensor/bf16.h"
#include "slm/train/adamw.h"
#include "slm/train/train_config.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

using namespace slm;

namespace {

constexpr int kVocab = 96;

// Token windows of a Markov chain in which each token has four likely successors.
void batch(Rng& rng, int B, int T, int V, std::vector<int32_t>& x, std::vector<int32_t>& y) {
  x.resize(size_t(B) * T), y.resize(size_t(B) * T);
  for (int b = 0; b < B; ++b) {
    int32_t t = int32_t(rng.below(uint32_t(V)));
    for (int i = 0; i <= T; ++i) {
      const int32_t next = int32_t((t * 7 + 1 + 13 * int(rng.below(4))) % V);
      if (i < T) x[size_t(b) * T + i] = t;
      if (i > 0) y[size_t(b) * T + i - 1] = t;
      t = next;
    }
  }
}

std::vector<double> train_losses(tensor::Precision p, int steps) {
  model::ModelConfig c;  // two layers, grouped-query attention
  c.vocab_size = kVocab, c.dim = 64, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 160, c.context = 32;
  model::Transformer<float> m(c);
  m.init_weights(3);
  m.set_precision(p);
  train::AdamW opt(m.layout(), 0.9, 0.95, 1e-8, 0.1, false);
  Rng data(7);
  std::vector<int32_t> x, y;
  std::vector<double> losses;
  const int B = 8, T = 32;
  for (int s = 0; s < steps; ++s) {
    batch(data, B, T, kVocab, x, y);
    m.zero_grad();
    losses.push_back(m.forward_backward(x.data(), y.data(), B, T, 1.0 / (B * T)));
    train::clip_grad_norm(m.grads(), m.num_params(), 1.0);
    const double lr = 3e-3 * std::min(1.0, (s + 1) / 20.0);
    opt.step(m.params(), m.grads(), lr, s + 1);
  }
  return losses;
}

}  // namespace

TEST(Bf16Training, LossCurveTracksFp32Within2PercentOver300Steps) {
  if (!tensor::cpu_has_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this processor";
  const int steps = 300, window = 20;
  // One thread: the model is tiny, and on a busy machine two threads' barriers cost more
  // than the arithmetic (the curves do not depend on the thread count).
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto f32 = train_losses(tensor::Precision::fp32, steps), b16 = train_losses(tensor::Precision::bf16, steps);
  omp_set_num_threads(saved);
  EXPECT_LT(f32.back(), 0.5 * f32.front()) << "fp32 did not learn: nothing is compared";
  EXPECT_NE(f32, b16) << "the bf16 run is bit-identical to fp32: bf16 was not used";
  for (int w = 0; w < steps / window; ++w) {
    double a = 0, b = 0;
    for (int s = w * window; s < (w + 1) * window; ++s) a += f32[size_t(s)], b += b16[size_t(s)];
    EXPECT_LT(std::abs(b - a) / a, 0.02) << "steps " << w * window << ".." << (w + 1) * window - 1 << ": fp32 "
                                         << a / window << ", bf16 " << b / window;
  }
}

TEST(Bf16Training, DtypeIsCheckedWhereItIsRead) {
  train::TrainConfig c;
  c.dtype = "fp16";
  EXPECT_THROW(c.validate("run.json"), Error);
  c.dtype = "fp32";
  EXPECT_NO_THROW(c.validate("run.json"));
  c.dtype = "auto";
  EXPECT_NO_THROW(c.validate("run.json"));
  EXPECT_EQ(tensor::parse_precision("auto", "x"), tensor::cpu_has_bf16() ? tensor::Precision::bf16 : tensor::Precision::fp32);
  if (!tensor::cpu_has_bf16()) {
    EXPECT_THROW(tensor::parse_precision("bf16", "x"), Error);
  }
}

// bf16 training keeps the inputs of the layers' products (the normed x, attention's output,
// swiglu's output) as bf16, which the products round them to anyway: it needs less
// memory than fp32, and activation_bytes (what `slm pretrain` prints) is what is held.
TEST(Bf16Training, KeepsProductInputsInBf16AndNeedsLessMemoryThanFp32) {
  if (!tensor::cpu_has_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this processor";
  model::ModelConfig c;
  c.vocab_size = kVocab, c.dim = 64, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 160, c.context = 32;
  const int B = 4, T = 32;
  Rng data(5);
  std::vector<int32_t> x, y;
  batch(data, B, T, kVocab, x, y);
  int64_t held[2] = {};
  for (auto p : {tensor::Precision::fp32, tensor::Precision::bf16}) {
    model::Transformer<float> m(c);
    m.init_weights(3);
    m.set_precision(p);
    m.zero_grad();
    m.forward_backward(x.data(), y.data(), B, T, 1.0 / (B * T));
    held[int(p == tensor::Precision::bf16)] = m.buffer_bytes();
    EXPECT_EQ(m.buffer_bytes(), model::Transformer<float>::activation_bytes(c, B, T, p)) << tensor::precision_name(p);
  }
  EXPECT_LT(held[1], held[0]);
  // Switching precision remakes the buffers for it.
  model::Transformer<float> m(c);
  m.init_weights(3);
  m.forward_backward(x.data(), y.data(), B, T, 1.0 / (B * T));
  m.set_precision(tensor::Precision::bf16);
  m.forward_backward(x.data(), y.data(), B, T, 1.0 / (B * T));
  EXPECT_EQ(m.buffer_bytes(), held[1]);
}
