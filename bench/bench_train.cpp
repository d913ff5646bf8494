// Training throughput: tokens/s and MFU of a full training step (forward, backward,
// AdamW) for a model shape, on random tokens, and the peak resident memory against the
// trainer's printed estimate. bench/pretrain_bench.sh runs PyTorch on the same shapes.
// Usage: bench_train CONFIG_JSON VOCAB BATCH STEPS [fp32|bf16]
// (BENCH_CLOCK=cpu times by process CPU time instead of wall time: for a busy machine.)
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <nlohmann/json.hpp>

#include "slm/model/transformer.h"
#include "slm/tensor/bf16.h"
#include "slm/tensor/blas_setup.h"
#include "slm/tensor/gemm.h"
#include "slm/train/adamw.h"
#include "slm/util/atomic_file.h"
#include "slm/util/rng.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  slm::tensor::ensure_fast_blas(argv);
  if (argc < 5) {
    std::fprintf(stderr, "usage: bench_train CONFIG_JSON VOCAB BATCH STEPS\n");
    return 2;
  }
  auto cfg = nlohmann::json::parse(slm::read_file(argv[1]));
  auto mc = slm::model::ModelConfig::from_json(cfg["model"], argv[1]);
  mc.vocab_size = std::atoi(argv[2]);
  const int B = std::atoi(argv[3]), steps = std::atoi(argv[4]), T = mc.context;
  const auto precision = slm::tensor::parse_precision(argc > 5 ? argv[5] : "fp32", "dtype");
  static const bool cpu_clock = std::getenv("BENCH_CLOCK") && std::string(std::getenv("BENCH_CLOCK")) == "cpu";
  auto now = [] {
    if (!cpu_clock) return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  };

  // The machine's peak: the best of a few 2048³ sgemms.
  const int n = 2048;
  std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
  double peak = 0;
  for (int r = 0; r < 3; ++r) {
    const double t0 = now();
    slm::tensor::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    peak = std::max(peak, 2.0 * n * n * n / (now() - t0));
  }
  a = {}, b = {}, c = {};
  a.shrink_to_fit(), b.shrink_to_fit(), c.shrink_to_fit();

  slm::model::Transformer<float> m(mc);
  m.init_weights(1);
  m.set_precision(precision);
  slm::train::AdamW opt(m.layout(), 0.9, 0.95, 1e-8, 0.1, false);
  std::vector<int32_t> x(size_t(B) * T), y(size_t(B) * T);
  slm::Rng rng(1);
  for (auto& t : x) t = int32_t(rng.below(uint32_t(mc.vocab_size)));
  for (auto& t : y) t = int32_t(rng.below(uint32_t(mc.vocab_size)));
  double best = 1e30, loss = 0;
  for (int s = 0; s < steps + 1; ++s) {  // the first step warms up (allocations, page faults)
    const double t0 = now();
    m.zero_grad();
    loss = m.forward_backward(x.data(), y.data(), B, T, 1.0 / (B * T));
    slm::train::clip_grad_norm(m.grads(), m.num_params(), 1.0);
    opt.step(m.params(), m.grads(), 1e-4, s + 1);
    const double sec = now() - t0;
    if (s > 0) best = std::min(best, sec);
  }
  const double tok_s = double(B) * T / best;
  const double mfu = tok_s * slm::model::flops_per_token(mc) / peak;
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const double P = double(m.num_params());
  const double estimate = 16 * P + double(slm::model::Transformer<float>::activation_bytes(mc, B, T));
  std::printf("slm    %-16s params %6.2fM  B %2d T %4d  %8.0f tokens/s  MFU %5.1f%% of fp32  (%s; peak sgemm %.0f GFLOP/s, kernel %s)\n",
              argv[1], P / 1e6, B, T, tok_s, 100 * mfu, slm::tensor::precision_name(precision), peak / 1e9,
              slm::tensor::blas_core_name());
  std::printf("slm    memory: peak resident %.0f MB, estimate %.0f MB, ratio %.2f\n", double(ru.ru_maxrss) / 1024,
              estimate / 1e6, double(ru.ru_maxrss) * 1024 / estimate);
  std::printf("RESULT tokens_per_s=%.1f mfu=%.4f peak_flops=%.3e peak_mb=%.0f loss=%.4f\n", tok_s, mfu, peak,
              double(ru.ru_maxrss) / 1024, loss);
}
