#pragma once
// A synthetic task whose answer lives in one known token, for the explainability tests:
// "N has a O . N 's toy is the" -> O. Word-level token ids, no tokenizer. A 3-layer model
// of width 16 learns it in a few hundred steps (seconds); it keeps the object at its own
// position through the first layer and moves it to the last position in the second: the
// pattern causal tracing should find. (A two-pair version, "N1 has a O1 . N2 has a O2 .
// N1 's toy is the", sat at ln 2 for 3000 steps: too slow to learn for a unit test.)
#include <cstdint>
#include <memory>
#include <vector>

#include "slm/model/transformer.h"
#include "slm/train/adamw.h"
#include "slm/util/rng.h"

namespace slm::test {

struct RecallTask {
  static constexpr int kNames = 8, kObjects = 16;
  static constexpr int32_t kHas = 24, kA = 25, kDot = 26, kPoss = 27, kToy = 28, kIs = 29, kThe = 30, kVocab = 32;
  static constexpr int kLen = 10;  // tokens of a prompt
  static constexpr int kObject = 3;  // the object's position
  static int32_t name(int i) { return i; }
  static int32_t object(int i) { return kNames + i; }

  // "N has a O . N 's toy is the" -> O
  static std::vector<int32_t> prompt(int n, int o) {
    return {name(n), kHas, kA, object(o), kDot, name(n), kPoss, kToy, kIs, kThe};
  }
  static std::vector<int32_t> random_prompt(Rng& rng, int32_t* answer) {
    const int n = int(rng.below(kNames)), o = int(rng.below(kObjects));
    *answer = object(o);
    return prompt(n, o);
  }

  // A 3-layer model trained on the task until its loss is below 0.02 (seconds).
  static std::unique_ptr<model::Transformer<float>> train(double* final_loss, uint64_t seed = 7) {
    model::ModelConfig c;
    c.vocab_size = kVocab, c.dim = 16, c.n_layers = 3, c.n_heads = 4, c.n_kv_heads = 4, c.hidden_dim = 32;
    c.context = 16;
    auto m = std::make_unique<model::Transformer<float>>(c);
    m->init_weights(seed);
    train::AdamW opt(m->layout(), 0.9, 0.98, 1e-8, 0.0, false);
    Rng rng(seed);
    const int B = 32, steps = 3000;
    std::vector<int32_t> in(size_t(B) * kLen), tg(size_t(B) * kLen, -1);
    double ema = 5;
    for (int s = 1; s <= steps; ++s) {
      for (int b = 0; b < B; ++b) {
        int32_t ans = 0;
        auto p = random_prompt(rng, &ans);
        std::copy(p.begin(), p.end(), in.begin() + size_t(b) * kLen);
        tg[size_t(b) * kLen + kLen - 1] = ans;
      }
      m->zero_grad();
      const double loss = m->forward_backward(in.data(), tg.data(), B, kLen, 1.0 / B);
      train::clip_grad_norm(m->grads(), m->num_params(), 1.0);
      const double lr = 1e-2 * std::min(1.0, s / 50.0);
      opt.step(m->params(), m->grads(), lr, s);
      ema = 0.95 * ema + 0.05 * loss;
      if (s > 100 && ema < 0.02) break;
    }
    *final_loss = ema;
    return m;
  }
};

}  // namespace slm::test
