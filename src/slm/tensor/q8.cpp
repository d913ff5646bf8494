#include "slm/tensor/q8.h"

#include <cmath>
#if defined(__AVX2__)
#include <immintrin.h>
#endif
#include <vector>

#include "slm/tensor/gemm.h"


namespace slm::tensor {

Q8Matrix quantize_q8(const float* w, int rows, int cols) {
  Q8Matrix m;
  m.rows = rows, m.cols = cols, m.blocks = (cols + kQ8Block - 1) / kQ8Block;
  m.q.assign(size_t(rows) * m.blocks * kQ8Block, 0);
  m.scale.resize(size_t(rows) * m.blocks);
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < m.blocks; ++b) {
      const float* src = w + size_t(r) * cols + size_t(b) * kQ8Block;
      const int len = std::min(kQ8Block, cols - b * kQ8Block);
      float amax = 0;
      for (int j = 0; j < len; ++j) amax = std::max(amax, std::abs(src[j]));
      const float s = amax / 127.f, inv = s > 0 ? 1.f / s : 0.f;
      const size_t blk = size_t(r) * m.blocks + size_t(b);
      m.scale[blk] = s;
      for (int j = 0; j < len; ++j) m.q[blk * kQ8Block + size_t(j)] = int8_t(std::lround(src[j] * inv));
    }
  return m;
}

void q8_dequantize_row(float* out, const Q8Matrix& w, int row) {
  const int8_t* q = w.q.data() + size_t(row) * w.blocks * kQ8Block;
  const float* s = w.scale.data() + size_t(row) * w.blocks;
  for (int c = 0; c < w.cols; ++c) out[c] = s[c / kQ8Block] * float(q[c]);
}

namespace {

// Activations are quantised per block of 32 too (as llama.cpp's Q8_0 x Q8_0 does), so a
// block's dot product is integer arithmetic: 32 int8 x int8 products summed exactly,
// then scaled by both blocks' scales.
void quantize_row(const float* x, int cols, int blocks, int8_t* q, float* s) {
  for (int b = 0; b < blocks; ++b) {
    const int len = std::min(kQ8Block, cols - b * kQ8Block);
    float amax = 0;
    for (int j = 0; j < len; ++j) amax = std::max(amax, std::abs(x[b * kQ8Block + j]));
    const float sc = amax / 127.f, inv = sc > 0 ? 1.f / sc : 0.f;
    s[b] = sc;
    for (int j = 0; j < kQ8Block; ++j)
      q[b * kQ8Block + j] = j < len ? int8_t(std::lround(x[b * kQ8Block + j] * inv)) : 0;
  }
}

#if defined(__AVX2__)
// The sum of 32 int8 x int8 products, with AVX2: maddubs needs one unsigned operand, so
// the sign of a moves onto b (|a| x sign(a)·b), then pairs and quads are summed.
inline int dot32(const int8_t* a, const int8_t* b) {
  __m256i va = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a));
  __m256i vb = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
  __m256i prod16 = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
  __m256i prod32 = _mm256_madd_epi16(prod16, _mm256_set1_epi16(1));
  __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(prod32), _mm256_extracti128_si256(prod32, 1));
  sum = _mm_hadd_epi32(sum, sum);
  sum = _mm_hadd_epi32(sum, sum);
  return _mm_cvtsi128_si32(sum);
}
#else
inline int dot32(const int8_t* a, const int8_t* b) {
  int acc = 0;
  for (int j = 0; j < kQ8Block; ++j) acc += int(a[j]) * int(b[j]);
  return acc;
}
#endif

}  // namespace

void q8_matmul(float* y, const float* x, const Q8Matrix& w, int n) {
  if (n >= 4) {
    // Several rows (a prompt): dequantise once and use a GEMM.
    std::vector<float> deq(size_t(w.rows) * w.cols);
#pragma omp parallel for schedule(static)
    for (int o = 0; o < w.rows; ++o)
      for (int c = 0; c < w.cols; ++c)
        deq[size_t(o) * w.cols + c] = w.scale[size_t(o) * w.blocks + c / kQ8Block] *
                                     float(w.q[(size_t(o) * w.blocks) * kQ8Block + size_t(c)]);
    gemm(false, true, n, w.rows, w.cols, 1.f, x, w.cols, deq.data(), w.cols, 0.f, y, w.rows);
    return;
  }
  std::vector<int8_t> xq(size_t(n) * w.blocks * kQ8Block);
  std::vector<float> xs(size_t(n) * w.blocks);
  for (int i = 0; i < n; ++i)
    quantize_row(x + size_t(i) * w.cols, w.cols, w.blocks, &xq[size_t(i) * w.blocks * kQ8Block], &xs[size_t(i) * w.blocks]);
#pragma omp parallel for schedule(static)
  for (int o = 0; o < w.rows; ++o) {
    const int8_t* q = w.q.data() + size_t(o) * w.blocks * kQ8Block;
    const float* s = w.scale.data() + size_t(o) * w.blocks;
    for (int i = 0; i < n; ++i) {
      const int8_t* qx = &xq[size_t(i) * w.blocks * kQ8Block];
      const float* sx = &xs[size_t(i) * w.blocks];
      float acc = 0;
      for (int b = 0; b < w.blocks; ++b) acc += float(dot32(q + b * kQ8Block, qx + b * kQ8Block)) * (s[b] * sx[b]);
      y[size_t(i) * w.rows + o] = acc;
    }
  }
}

}  // namespace slm::tensor
