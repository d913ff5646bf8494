#include "slm/tensor/matvec.h"

#include <cstddef>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

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
// The sum of 16 lanes. GCC 12 warns that the intrinsic's own placeholder operand is
// uninitialised (GCC bug 105593): a false alarm, silenced here only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }
#pragma GCC diagnostic pop
#endif

}  // namespace

void matvec_rows(float* y, const float* x, const float* w, int n, int in, int out, int o0, int o1, bool accumulate) {
  int o = o0;
#if defined(__AVX512F__)
  const int full = in / 16 * 16;
  const __mmask16 tail = __mmask16((1u << (in - full)) - 1);
  for (; o + 4 <= o1; o += 4) {
    const float* w0 = w + size_t(o) * in;
    const float *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
    for (int i = 0; i < n; ++i) {  // the four rows stay in cache for the next x
      const float* xi = x + size_t(i) * in;
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int c = 0; c < full; c += 16) {
        const __m512 xv = _mm512_loadu_ps(xi + c);
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c), xv, a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + c), xv, a1);
        a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + c), xv, a2);
        a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + c), xv, a3);
      }
      if (tail) {
        const __m512 xv = _mm512_maskz_loadu_ps(tail, xi + full);
        a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w0 + full), xv, a0);
        a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w1 + full), xv, a1);
        a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w2 + full), xv, a2);
        a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w3 + full), xv, a3);
      }
      float* yi = y + size_t(i) * out + o;
      store(yi + 0, hsum(a0), accumulate);
      store(yi + 1, hsum(a1), accumulate);
      store(yi + 2, hsum(a2), accumulate);
      store(yi + 3, hsum(a3), accumulate);
    }
  }
#endif
  for (; o < o1; ++o)
    for (int i = 0; i < n; ++i) store(y + size_t(i) * out + o, dot(w + size_t(o) * in, x + size_t(i) * in, in), accumulate);
}

}  // namespace slm::tensor
