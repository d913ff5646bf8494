#pragma once
// The memory's read bandwidth as one program can use it (a STREAM-like "sum" kernel):
// 512 MB, far past the caches, first touched by the threads that later read it (so each
// reads pages of its own memory node), summed with eight independent AVX-512
// accumulators (one accumulator would be latency-bound on its additions and measure the
// adder, not the memory: the figure before this read 4 GB/s where a decoding step
// already streamed 24); the best of several sweeps. Shared by bench_infer (the decode
// share of bandwidth) and bench_matvec (the kernels' share).
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <utility>

#include "slm/tensor/simd.h"

namespace bench {

// This thread's contiguous part of n steps (the same for the first touch and the reads).
inline std::pair<size_t, size_t> my_part(size_t n) {
  const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
  return {n * t / nt, n * (t + 1) / nt};
}

// GB/s; now_s is the caller's clock (wall or CPU time). GCC 12 warns about the AVX-512
// intrinsics' own placeholder operands where they inline (GCC bug 105593): a false alarm.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
template <class Clock>
double read_bandwidth_gbs(int threads, Clock now_s) {
  constexpr size_t kFloats = (size_t(512) << 20) / sizeof(float), kStep = 128;  // 512 bytes a step
  std::unique_ptr<float, decltype(&std::free)> buf(static_cast<float*>(std::aligned_alloc(64, kFloats * 4)), &std::free);
  float* a = buf.get();
#pragma omp parallel num_threads(threads)
  {
    const auto [b, e] = my_part(kFloats / kStep);
    std::fill(a + b * kStep, a + e * kStep, 1.f);
  }
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 7; ++rep) {
    const double t0 = now_s();
    float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      const auto [b, e] = my_part(kFloats / kStep);
#if defined(__AVX512F__)
      __m512 acc[8];
      for (auto& v : acc) v = _mm512_setzero_ps();
      for (size_t s = b; s < e; ++s)
        for (int k = 0; k < 8; ++k) acc[k] = _mm512_add_ps(acc[k], _mm512_load_ps(a + s * kStep + 16 * size_t(k)));
      for (int k = 1; k < 8; ++k) acc[0] = _mm512_add_ps(acc[0], acc[k]);
      total += slm::tensor::hsum(acc[0]);
#else
      float part[8] = {};
      for (size_t i = b * kStep; i < e * kStep; i += 8)
        for (int k = 0; k < 8; ++k) part[k] += a[i + size_t(k)];
      for (float v : part) total += v;
#endif
    }
    best = std::max(best, double(kFloats) * sizeof(float) / (now_s() - t0));
    sink = sink + total;
  }
  return best / 1e9;
}
#pragma GCC diagnostic pop

}  // namespace bench
