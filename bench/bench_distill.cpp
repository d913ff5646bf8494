// The cost of a distillation step against a plain training step (issue 17's goal: at most
// 1.5x with the teacher's top-k cached). Each step is a full one: forward, loss, backward,
// clipping, AdamW. Steps timed, the best of STEPS after a warm-up:
//   plain:   next-token cross-entropy (pre-training's step)
//   cached:  the KD loss against top-K teacher logits read from memory as the cache gives them
//   on the fly (with a TEACHER_CONFIG): the teacher's forward pass, then the dense KD loss
// bench/distill_bench.sh runs it beside PyTorch doing the same (bench/torch_distill.py).
// Usage: bench_distill STUDENT_CONFIG VOCAB BATCH STEPS K [TEACHER_CONFIG]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>

#include "slm/train/kd_loss.h"
#include "slm/model/transformer.h"
#include "slm/tensor/blas_setup.h"
#include "slm/train/adamw.h"
#include "slm/util/atomic_file.h"
#include "slm/util/rng.h"

using Clock = std::chrono::steady_clock;
using namespace slm;

namespace {

model::ModelConfig read_config(const char* path, int vocab) {
  auto cfg = nlohmann::json::parse(read_file(path));
  auto mc = model::ModelConfig::from_json(cfg["model"], path);
  mc.vocab_size = vocab;
  return mc;
}

// The best time of `steps` full training steps whose forward, loss and backward is fb.
double best_step(model::Transformer<float>& m, int steps, const std::function<void()>& fb) {
  train::AdamW opt(m.layout(), 0.9, 0.95, 1e-8, 0.1, false);
  double best = 1e30;
  for (int s = 0; s < steps + 1; ++s) {  // the first step warms up
    auto t0 = Clock::now();
    m.zero_grad();
    fb();
    train::clip_grad_norm(m.grads(), m.num_params(), 1.0);
    opt.step(m.params(), m.grads(), 1e-4, s + 1);
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0) best = std::min(best, sec);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  tensor::ensure_fast_blas(argv);
  if (argc < 6) {
    std::fprintf(stderr, "usage: bench_distill STUDENT_CONFIG VOCAB BATCH STEPS K [TEACHER_CONFIG]\n");
    return 2;
  }
  const int V = std::atoi(argv[2]), B = std::atoi(argv[3]), steps = std::atoi(argv[4]), K = std::atoi(argv[5]);
  const auto mc = read_config(argv[1], V);
  const int T = mc.context, N = B * T;
  model::Transformer<float> m(mc);
  m.init_weights(1);
  std::vector<int32_t> x(static_cast<size_t>(N)), y(x.size()), ids(x.size() * size_t(K));
  std::vector<float> vals(ids.size());
  Rng rng(1);
  for (auto& t : x) t = int32_t(rng.below(uint32_t(V)));
  for (auto& t : y) t = int32_t(rng.below(uint32_t(V)));
  for (auto& t : ids) t = int32_t(rng.below(uint32_t(V)));
  for (auto& v : vals) v = float(4 * rng.uniform());
  // The cache as training reads it: a window's [T, K] block copied into the batch.
  std::vector<int32_t> cache_ids = ids;
  std::vector<float> cache_vals = vals;
  const train::KdOptions kd{0.5, 2.0, train::Divergence::forward};

  const double plain = best_step(m, steps, [&] { m.forward_backward(x.data(), y.data(), B, T, 1.0 / N); });
  const double cached = best_step(m, steps, [&] {
    std::copy(cache_ids.begin(), cache_ids.end(), ids.begin());
    std::copy(cache_vals.begin(), cache_vals.end(), vals.begin());
    const train::TeacherLogits t{nullptr, ids.data(), vals.data(), K};
    m.forward_backward_logits(x.data(), B, T, [&](float* z) {
      return train::kd_forward_backward(z, y.data(), t, N, V, kd, 1.0 / N).loss;
    });
  });
  std::printf("slm    %-18s params %6.2fM  B %d T %d V %d\n", argv[1], double(m.num_params()) / 1e6, B, T, V);
  std::printf("slm    plain step %8.1f ms  %8.0f tokens/s\n", plain * 1e3, N / plain);
  std::printf("slm    KD step, top-%d cached %8.1f ms  %8.0f tokens/s  = %.2fx a plain step\n", K, cached * 1e3,
              N / cached, cached / plain);
  double fly = 0;
  if (argc > 6) {
    model::Transformer<float> teacher(read_config(argv[6], V));
    teacher.init_weights(2);
    fly = best_step(m, steps, [&] {
      teacher.forward(x.data(), B, T);
      const train::TeacherLogits t{teacher.logits(), nullptr, nullptr, 0};
      m.forward_backward_logits(x.data(), B, T, [&](float* z) {
        return train::kd_forward_backward(z, y.data(), t, N, V, kd, 1.0 / N).loss;
      });
    });
    std::printf("slm    KD step, teacher %s (%.2fM) on the fly %8.1f ms  = %.2fx a plain step\n", argv[6],
                double(teacher.num_params()) / 1e6, fly * 1e3, fly / plain);
  }
  std::printf("RESULT plain_ms=%.2f cached_ms=%.2f cached_ratio=%.3f fly_ratio=%.3f\n", plain * 1e3, cached * 1e3,
              cached / plain, fly > 0 ? fly / plain : 0.0);
}
