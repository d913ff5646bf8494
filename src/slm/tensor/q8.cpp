#include "slm/tensor/q8.h"

#include <algorithm>
#include <cmath>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "slm/tensor/gemm.h"
#include "slm/tensor/parallel.h"
#include "slm/tensor/simd.h"

// GCC 12 warns that AVX-512 intrinsics' own placeholder operands are uninitialised
// wherever they inline (GCC bug 105593): a false alarm, silenced for this file's kernels.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace slm::tensor {

namespace {
// One block of up to 32 values as int8 and a scale (max|x| / 127); the rest of the 32
// bytes are zeros. Weights round half away from zero (ggml's reference quantiser, so that
// a GGUF's Q8_0 blocks equal slm's); activations to nearest even (its vectorised one).
template <bool kHalfAway>
void quantize_block(const float* src, int len, int8_t* q, float& scale) {
  float amax = 0;
  for (int j = 0; j < len; ++j) amax = std::max(amax, std::abs(src[j]));
  scale = amax / 127.f;
  const float inv = scale > 0 ? 1.f / scale : 0.f;
  for (int j = 0; j < kQ8Block; ++j)
    q[j] = j >= len ? 0 : int8_t(kHalfAway ? std::lround(src[j] * inv) : std::nearbyint(src[j] * inv));
}
}  // namespace

Q8Matrix quantize_q8(const float* w, int rows, int cols) {
  Q8Matrix m;
  m.rows = rows, m.cols = cols, m.blocks = (cols + kQ8Block - 1) / kQ8Block;
  m.q.assign(size_t(rows) * m.blocks * kQ8Block, 0);
  m.scale.resize(size_t(rows) * m.blocks);
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < m.blocks; ++b) {
      const size_t blk = size_t(r) * m.blocks + size_t(b);
      quantize_block<true>(w + size_t(r) * cols + size_t(b) * kQ8Block, std::min(kQ8Block, cols - b * kQ8Block),
                           &m.q[blk * kQ8Block], m.scale[blk]);
    }
  return m;
}

void q8_dequantize_row(float* out, const Q8Matrix& w, int row) { q8_dequantize_rows(out, w, row, row + 1); }

void q8_dequantize_rows(float* out, const Q8Matrix& w, int r0, int r1) {
  for (int r = r0; r < r1; ++r) {
    const int8_t* q = w.q.data() + size_t(r) * w.blocks * kQ8Block;
    const float* s = w.scale.data() + size_t(r) * w.blocks;
    float* o = out + size_t(r - r0) * w.cols;
    for (int b = 0; b < w.blocks; ++b) {
      const int len = std::min(kQ8Block, w.cols - b * kQ8Block);
      for (int j = 0; j < len; ++j) o[b * kQ8Block + j] = s[b] * float(q[b * kQ8Block + j]);  // vectorised (-O3)
    }
  }
}

void q8_quantize_rows(Q8Rows& out, const float* x, int n, int cols) {
  out.n = n, out.cols = cols, out.blocks = (cols + kQ8Block - 1) / kQ8Block;
  out.q.resize(size_t(n) * out.blocks * kQ8Block);
  out.scale.resize(size_t(n) * out.blocks);
  for (int i = 0; i < n; ++i)
    for (int b = 0; b < out.blocks; ++b) {
      const size_t blk = size_t(i) * out.blocks + size_t(b);
      quantize_block<false>(x + size_t(i) * cols + size_t(b) * kQ8Block, std::min(kQ8Block, cols - b * kQ8Block),
                            &out.q[blk * kQ8Block], out.scale[blk]);
    }
}

namespace {

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
// R consecutive rows of W against one row of x, two blocks (64 bytes) a 512-bit step.
// vpdpbusd multiplies unsigned by signed bytes: the weights are made unsigned by adding
// 128 (flipping their top bit), which adds 128·Σx to each sum; each sum starts from
// -128·Σx instead of zero (one vpdpbusd of x a step, shared by the R rows), so the
// integer sums are exact. Each block's sum is scaled by its two scales in float: the
// product of both scales is formed for 16 blocks at once, then spread over each block's
// eight lanes by one permute. At the 110M shape, one thread (variants in bench/bench_matvec's loop):
// this with 8 rows and a prefetch 8 KB ahead of each row streamed 18–20 GB/s where the
// 256-bit kernel before it (sign trick, a broadcast scale a block, 4 rows) streamed 12–13;
// 4 rows 15, 16 rows 17–19; prefetching 0.5–4 KB ahead gained less.
constexpr int kPrefetchBytes = 8192;

template <int R>
void rows_kernel(float* y, const int8_t* q, const float* s, const int8_t* qx, const float* sx, int blocks) {
  const size_t row_q = size_t(blocks) * kQ8Block;
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int g = 0; g < blocks; g += 16) {
    const int nb = std::min(16, blocks - g);
    const __mmask16 in_group = __mmask16((1u << nb) - 1);
    const __m512 xs = _mm512_maskz_loadu_ps(in_group, sx + g);
    __m512 scale[R];  // scale[r][j] = w's scale × x's scale of block g + j, zero past the row
    for (int r = 0; r < R; ++r) scale[r] = _mm512_mul_ps(_mm512_maskz_loadu_ps(in_group, s + size_t(r) * blocks + g), xs);
    __m512i pick = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);  // blocks j, j+1 of the group
    for (int j = 0; j < nb; j += 2) {
      const size_t at = size_t(g + j) * kQ8Block;
      // An odd last block reads 32 bytes (the rest zero: their products are zero).
      const __mmask64 bytes = j + 1 < nb ? ~__mmask64(0) : __mmask64(0xffffffffu);
      const __m512i xv = _mm512_maskz_loadu_epi8(bytes, qx + at);
      const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, xv));
      for (int r = 0; r < R; ++r) {
        const int8_t* wr = q + size_t(r) * row_q + at;
        _mm_prefetch(reinterpret_cast<const char*>(wr) + kPrefetchBytes, _MM_HINT_T0);
        const __m512i wv = _mm512_xor_si512(_mm512_maskz_loadu_epi8(bytes, wr), flip);
        const __m512i dot = _mm512_dpbusd_epi32(start, wv, xv);
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(pick, scale[r]), acc[r]);
      }
      pick = _mm512_add_epi32(pick, _mm512_set1_epi32(2));
    }
  }
  for (int r = 0; r < R; ++r) y[r] = hsum(acc[r]);
}
#elif defined(__AVX2__)
// Four sums of eight int8 × int8 products each (the 32 products of a block, in the eight
// 32-bit lanes). The instructions multiply unsigned by signed bytes, so the sign of w
// moves onto x: |w| · (sign(w) · x).
inline __m256i block_dot(__m256i w, __m256i x) {
  const __m256i aw = _mm256_sign_epi8(w, w), sx = _mm256_sign_epi8(x, w);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, sx);  // one instruction: vpdpbusd
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), _mm256_set1_epi16(1));
#endif
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline __m256i load32(const int8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// Rows o..o+3 of W against one row of x: each block's integer sums, scaled by both
// scales, gather in eight float lanes a row; the lanes are added up once at the end.
inline void four_rows(float* y, const int8_t* q, const float* s, const int8_t* qx, const float* sx, int blocks,
                      size_t row_q) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int b = 0; b < blocks; ++b) {
    const __m256i xv = load32(qx + b * kQ8Block);
    const float xs = sx[b];
    const size_t at = size_t(b) * kQ8Block;
    a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(load32(q + at), xv)), _mm256_set1_ps(s[b] * xs), a0);
    a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(load32(q + row_q + at), xv)),
                         _mm256_set1_ps(s[blocks + b] * xs), a1);
    a2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(load32(q + 2 * row_q + at), xv)),
                         _mm256_set1_ps(s[2 * blocks + b] * xs), a2);
    a3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(load32(q + 3 * row_q + at), xv)),
                         _mm256_set1_ps(s[3 * blocks + b] * xs), a3);
  }
  y[0] = hsum(a0), y[1] = hsum(a1), y[2] = hsum(a2), y[3] = hsum(a3);
}
#endif

// One row of W against one row of x, block by block in plain C++.
inline float one_row(const int8_t* q, const float* s, const int8_t* qx, const float* sx, int blocks) {
  float acc = 0;
  for (int b = 0; b < blocks; ++b) {
    int dot = 0;
    for (int j = 0; j < kQ8Block; ++j) dot += int(q[b * kQ8Block + j]) * int(qx[b * kQ8Block + j]);
    acc += float(dot) * (s[b] * sx[b]);
  }
  return acc;
}

}  // namespace

void q8_matvec_rows(float* y, const Q8Rows& x, const Q8Matrix& w, int o0, int o1, bool accumulate) {
  const size_t row_q = size_t(w.blocks) * kQ8Block;
  auto put = [&](float* dst, float v) { *dst = accumulate ? *dst + v : v; };
  int o = o0;
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  auto rows = [&](auto kernel, int R) {
    for (; o + R <= o1; o += R)
      for (int i = 0; i < x.n; ++i) {  // the R rows stay in cache for the next x
        float r[8];
        kernel(r, w.q.data() + size_t(o) * row_q, w.scale.data() + size_t(o) * w.blocks, x.q.data() + size_t(i) * row_q,
               x.scale.data() + size_t(i) * w.blocks, w.blocks);
        for (int k = 0; k < R; ++k) put(y + size_t(i) * w.rows + o + k, r[k]);
      }
  };
  rows(rows_kernel<8>, 8);
  rows(rows_kernel<1>, 1);
#elif defined(__AVX2__)
  for (; o + 4 <= o1; o += 4)
    for (int i = 0; i < x.n; ++i) {  // the four rows stay in cache for the next x
      float r[4];
      four_rows(r, w.q.data() + size_t(o) * row_q, w.scale.data() + size_t(o) * w.blocks,
                x.q.data() + size_t(i) * row_q, x.scale.data() + size_t(i) * w.blocks, w.blocks, row_q);
      for (int k = 0; k < 4; ++k) put(y + size_t(i) * w.rows + o + k, r[k]);
    }
#endif
  for (; o < o1; ++o)
    for (int i = 0; i < x.n; ++i)
      put(y + size_t(i) * w.rows + o,
          one_row(w.q.data() + size_t(o) * row_q, w.scale.data() + size_t(o) * w.blocks,
                  x.q.data() + size_t(i) * row_q, x.scale.data() + size_t(i) * w.blocks, w.blocks));
}

namespace {

// Rows [r0, r1) of W as bf16 (scale · q rounded to nearest even), [r1 - r0, cols]: a row
// at a time through float (the row stays in L1 between the two passes).
void dequantize_rows_bf16(uint16_t* out, const Q8Matrix& w, int r0, int r1, std::vector<float>& row) {
  row.resize(size_t(w.cols));
  for (int r = r0; r < r1; ++r) {
    q8_dequantize_rows(row.data(), w, r, r + 1);
    to_bf16_row(out + size_t(r - r0) * w.cols, row.data(), w.cols);
  }
}

}  // namespace

void q8_gemm_rows(float* y, const float* x, int n, const Q8Matrix& w, int o0, int o1, Q8GemmScratch& scratch,
                  bool accumulate) {
  const float beta = accumulate ? 1.f : 0.f;
  if (scratch.bf16) {
    // 16–256 rows, ≤ 256 KB of bf16 (at the 110M shape, one thread: 128–256 rows ran
    // oneDNN at 230–280 GFLOP/s, 64 rows at 210–250; the fp32 path at 83–95).
    const int slice = std::clamp(262144 / (2 * std::max(1, w.cols)) / 16 * 16, 16, 256);
    scratch.x16.resize(size_t(n) * w.cols);
    to_bf16(scratch.x16.data(), x, int64_t(n) * w.cols);
    scratch.w16.resize(size_t(slice) * w.cols);
    for (int r = o0; r < o1; r += slice) {
      const int len = std::min(slice, o1 - r);
      dequantize_rows_bf16(scratch.w16.data(), w, r, r + len, scratch.w32);
      gemm_bf16_nt(n, len, w.cols, scratch.x16.data(), w.cols, scratch.w16.data(), w.cols, beta, y + r, w.rows);
    }
    return;
  }
  const int slice = gemm_slice_rows(w.cols);
  scratch.w32.resize(size_t(slice) * w.cols);
  for (int r = o0; r < o1; r += slice) {
    const int len = std::min(slice, o1 - r);
    q8_dequantize_rows(scratch.w32.data(), w, r, r + len);
    gemm(false, true, n, len, w.cols, 1.f, x, w.cols, scratch.w32.data(), w.cols, beta, y + r, w.rows);
  }
}

void q8_matmul(float* y, const float* x, const Q8Matrix& w, int n) {
  Q8Rows xq;
  if (n < kQ8GemmRows) q8_quantize_rows(xq, x, n, w.cols);
#pragma omp parallel
  {
    auto [o0, o1] = thread_share(w.rows, 16);
    if (n < kQ8GemmRows) {
      q8_matvec_rows(y, xq, w, o0, o1, false);
    } else {
      Q8GemmScratch scratch;
      q8_gemm_rows(y, x, n, w, o0, o1, scratch, false);
    }
  }
}

}  // namespace slm::tensor
