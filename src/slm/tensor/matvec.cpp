#include "slm/tensor/matvec.h"

#include <cstddef>
#include "slm/tensor/simd.h"

namespace slm::tensor {

namespace {

inline void store(float* y, float v, bool accumulate) { *y = accumulate ? *y + v : v; }

// One output: the plain dot product (the tail rows, and processors without AVX-512).
inline float dot(const float* w, const float* x, int in) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int c = 0; c < in; ++c) s += w[c] * x[c];
  return s;
}

#if defined(__AVX512F__)
// R consecutive rows of W (from w0) against the rows of x: R independent sums in flight,
// each 16 floats of x loaded once for all R rows. More rows in flight keep more of the
// memory's requests outstanding: at the 110M shape, one thread (variants of the kernel in
// bench/bench_matvec's loop) 4 rows streamed 26–28 GB/s, 8 26–30, 16 27–31 (the read: 27–32).
// Software prefetch measured slower here (the hardware's stream prefetcher keeps up).
template <int R>
void rows_kernel(float* y, const float* x, const float* w0, int n, int in, int out, bool accumulate) {
  const int full = in / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (in - full)) - 1);
  for (int i = 0; i < n; ++i) {  // the R rows stay in cache for the next row of x
    const float* xi = x + size_t(i) * in;
    __m512 a[R];
    for (int r = 0; r < R; ++r) a[r] = _mm512_setzero_ps();
    for (int c = 0; c < full; c += 16) {
      const __m512 xv = _mm512_loadu_ps(xi + c);
      for (int r = 0; r < R; ++r) a[r] = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + size_t(r) * in + c), xv, a[r]);
    }
    if (tail) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, xi + full);
      for (int r = 0; r < R; ++r)
        a[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w0 + size_t(r) * in + full), xv, a[r]);
    }
    for (int r = 0; r < R; ++r) store(y + size_t(i) * out + r, hsum(a[r]), accumulate);
  }
}
#endif

}  // namespace

void matvec_rows(float* y, const float* x, const float* w, int n, int in, int out, int o0, int o1, bool accumulate) {
  int o = o0;
#if defined(__AVX512F__)
  for (; o + 16 <= o1; o += 16) rows_kernel<16>(y + o, x, w + size_t(o) * in, n, in, out, accumulate);
  for (; o + 4 <= o1; o += 4) rows_kernel<4>(y + o, x, w + size_t(o) * in, n, in, out, accumulate);
#endif
  for (; o < o1; ++o)
    for (int i = 0; i < n; ++i) store(y + size_t(i) * out + o, dot(w + size_t(o) * in, x + size_t(i) * in, in), accumulate);
}

}  // namespace slm::tensor
