#include "slm/infer/attention.h"

#include <algorithm>
#include <cmath>

#include "slm/tensor/bf16.h"
#include "slm/tensor/simd.h"

namespace slm::infer {

namespace {

inline float value(float x) { return x; }
inline float value(uint16_t x) { return tensor::bf16_to_float(x); }

#if defined(__AVX512F__)
// 16 cached values as floats: fp32 as they are; bf16 widened (its bits are a float's top 16).
inline __m512 load16(const float* p) { return _mm512_load_ps(p); }
// GCC 12 warns that the intrinsics' own placeholder operand is uninitialised (GCC bug
// 105593, as tensor/simd.h): a false alarm, silenced here only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline __m512 load16(const uint16_t* p) {
  const __m256i h = _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#pragma GCC diagnostic pop

// head_dim = 16·C: the query and the output stay in C registers each; four positions' dot
// products at a time, so four sums are in flight rather than one chain of dependent
// additions; the weighted sum of values keeps two sets of accumulators for the same reason.
template <int C, class KV>
void attend_avx512(float* out, const float* q, const KV* k, const KV* v, int n, float scale, float* s) {
  constexpr int d = 16 * C;
  __m512 qv[C];
  for (int j = 0; j < C; ++j) qv[j] = _mm512_loadu_ps(q + 16 * j);
  int t = 0;
  for (; t + 4 <= n; t += 4) {
    __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int j = 0; j < C; ++j)
      for (int p = 0; p < 4; ++p) a[p] = _mm512_fmadd_ps(qv[j], load16(k + size_t(t + p) * d + 16 * j), a[p]);
    for (int p = 0; p < 4; ++p) s[t + p] = tensor::hsum(a[p]) * scale;
  }
  for (; t < n; ++t) {
    __m512 a = _mm512_setzero_ps();
    for (int j = 0; j < C; ++j) a = _mm512_fmadd_ps(qv[j], load16(k + size_t(t) * d + 16 * j), a);
    s[t] = tensor::hsum(a) * scale;
  }
  const float mx = *std::max_element(s, s + n);
  float sum = 0;
  for (t = 0; t < n; ++t) sum += (s[t] = std::exp(s[t] - mx));
  const float inv = 1.f / sum;
  __m512 o0[C], o1[C];
  for (int j = 0; j < C; ++j) o0[j] = o1[j] = _mm512_setzero_ps();
  for (t = 0; t + 2 <= n; t += 2) {
    const __m512 w0 = _mm512_set1_ps(s[t] * inv), w1 = _mm512_set1_ps(s[t + 1] * inv);
    for (int j = 0; j < C; ++j) {
      o0[j] = _mm512_fmadd_ps(w0, load16(v + size_t(t) * d + 16 * j), o0[j]);
      o1[j] = _mm512_fmadd_ps(w1, load16(v + size_t(t + 1) * d + 16 * j), o1[j]);
    }
  }
  if (t < n) {
    const __m512 w0 = _mm512_set1_ps(s[t] * inv);
    for (int j = 0; j < C; ++j) o0[j] = _mm512_fmadd_ps(w0, load16(v + size_t(t) * d + 16 * j), o0[j]);
  }
  for (int j = 0; j < C; ++j) _mm512_storeu_ps(out + 16 * j, _mm512_add_ps(o0[j], o1[j]));
}
#endif

template <class KV>
void attend(float* out, const float* q, const KV* k, const KV* v, int n, int d, float scale, float* s) {
#if defined(__AVX512F__)
  switch (d) {  // rows of 16·C values in a 64-byte aligned cache: aligned loads
    case 32: return attend_avx512<2>(out, q, k, v, n, scale, s);
    case 48: return attend_avx512<3>(out, q, k, v, n, scale, s);
    case 64: return attend_avx512<4>(out, q, k, v, n, scale, s);
    case 96: return attend_avx512<6>(out, q, k, v, n, scale, s);
    case 128: return attend_avx512<8>(out, q, k, v, n, scale, s);
    default: break;  // other head sizes take the portable loop below
  }
#endif
  float mx = -INFINITY;
  for (int t = 0; t < n; ++t) {
    const KV* kt = k + size_t(t) * d;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int j = 0; j < d; ++j) dot += q[j] * value(kt[j]);
    s[t] = dot * scale;
    mx = std::max(mx, s[t]);
  }
  float sum = 0;
  for (int t = 0; t < n; ++t) sum += (s[t] = std::exp(s[t] - mx));
  const float inv = 1.f / sum;
  for (int j = 0; j < d; ++j) out[j] = 0;
  for (int t = 0; t < n; ++t) {
    const float w = s[t] * inv;
    const KV* vt = v + size_t(t) * d;
#pragma omp simd
    for (int j = 0; j < d; ++j) out[j] += w * value(vt[j]);
  }
}

}  // namespace

void attend_head(float* out, const float* q, const float* k, const float* v, int n, int d, float scale, float* s) {
  attend(out, q, k, v, n, d, scale, s);
}

void attend_head(float* out, const float* q, const uint16_t* k, const uint16_t* v, int n, int d, float scale,
                 float* s) {
  attend(out, q, k, v, n, d, scale, s);
}

}  // namespace slm::infer
