// The decoding kernels alone at one thread, over the weights of a model shape (default
// llama2.c's stories110M: 12 layers of q, k, v, o [dim, dim], gate, up [hidden, dim], down
// [dim, hidden], and the [vocab, dim] head; 438 MB in fp32, far past the caches): GB/s of
// weights streamed by slm's fp32 matvec_rows, OpenBLAS's sgemv (the anchor, same matrices),
// and slm's q8_matvec_rows (int8 + scales), beside the read bandwidth of
// bench/read_bandwidth.h; best of 7 passes. BENCH_CLOCK=cpu times by process CPU time.
// Usage: bench_matvec [DIM HIDDEN LAYERS VOCAB]
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "read_bandwidth.h"
#include "slm/tensor/gemm.h"
#include "slm/tensor/matvec.h"
#include "slm/tensor/q8.h"
#include "slm/util/aligned.h"

using namespace slm::tensor;

static double now_s() {
  static const bool cpu = std::getenv("BENCH_CLOCK") && std::string(std::getenv("BENCH_CLOCK")) == "cpu";
  timespec t{};
  clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Best GB/s of 7 passes of f, which streams `bytes`.
template <class F>
static double best_gbs(double bytes, F f) {
  double best = 1e30;
  for (int r = 0; r < 7; ++r) {
    const double t0 = now_s();
    f();
    best = std::min(best, now_s() - t0);
  }
  return bytes / best / 1e9;
}

int main(int argc, char** argv) {
  const int dim = argc > 4 ? std::atoi(argv[1]) : 768, hidden = argc > 4 ? std::atoi(argv[2]) : 2048;
  const int layers = argc > 4 ? std::atoi(argv[3]) : 12, vocab = argc > 4 ? std::atoi(argv[4]) : 32000;
  omp_set_num_threads(1);
  struct Shape { int out, in; };
  std::vector<Shape> shapes;
  for (int l = 0; l < layers; ++l) {
    for (int k = 0; k < 4; ++k) shapes.push_back({dim, dim});
    shapes.push_back({hidden, dim}), shapes.push_back({hidden, dim}), shapes.push_back({dim, hidden});
  }
  shapes.push_back({vocab, dim});
  std::vector<slm::util::AlignedVector<float>> w32;  // 64-byte aligned, as the engine's weights
  std::vector<Q8Matrix> w8;
  double bytes32 = 0, bytes8 = 0;
  uint32_t seed = 1;
  for (const auto& s : shapes) {
    w32.emplace_back(size_t(s.out) * s.in);
    for (auto& v : w32.back()) v = float(int((seed = seed * 1664525u + 1013904223u) >> 9) % 2001 - 1000) * 1e-3f;
    w8.push_back(quantize_q8(w32.back().data(), s.out, s.in));
    bytes32 += double(w32.back().size()) * 4, bytes8 += double(w8.back().bytes());
  }
  std::vector<float> x(size_t(std::max(dim, hidden)), 0.01f), y(size_t(std::max({dim, hidden, vocab})));
  Q8Rows xd, xh;
  q8_quantize_rows(xd, x.data(), 1, dim), q8_quantize_rows(xh, x.data(), 1, hidden);
  const double read = bench::read_bandwidth_gbs(1, now_s);
  const double slm32 = best_gbs(bytes32, [&] {
    for (size_t i = 0; i < shapes.size(); ++i)
      matvec_rows(y.data(), x.data(), w32[i].data(), 1, shapes[i].in, shapes[i].out, 0, shapes[i].out, false);
  });
  const double blas = best_gbs(bytes32, [&] {
    for (size_t i = 0; i < shapes.size(); ++i) gemv(shapes[i].out, shapes[i].in, w32[i].data(), x.data(), y.data());
  });
  const double slm8 = best_gbs(bytes8, [&] {
    for (size_t i = 0; i < shapes.size(); ++i)
      q8_matvec_rows(y.data(), shapes[i].in == dim ? xd : xh, w8[i], 0, shapes[i].out, false);
  });
  std::printf("weights %.0f MB fp32, %.0f MB q8; one thread, clock %s\n", bytes32 / 1e6, bytes8 / 1e6,
              std::getenv("BENCH_CLOCK") ? std::getenv("BENCH_CLOCK") : "wall");
  std::printf("read bandwidth          %6.1f GB/s\n", read);
  std::printf("slm fp32 matvec_rows    %6.1f GB/s  %4.0f%% of read  %.2fx OpenBLAS sgemv\n", slm32, 100 * slm32 / read,
              slm32 / blas);
  std::printf("OpenBLAS sgemv          %6.1f GB/s  %4.0f%% of read\n", blas, 100 * blas / read);
  std::printf("slm q8 q8_matvec_rows   %6.1f GB/s  %4.0f%% of read (int8 + scales)\n", slm8, 100 * slm8 / read);
  return 0;
}
