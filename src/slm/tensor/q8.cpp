#include "slm/tensor/q8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "slm/tensor/gemm.h"
#include "slm/tensor/half.h"
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

namespace {
constexpr size_t kPairBytes = size_t(kQ8GroupRows) * 64;  // two blocks of 8 rows
constexpr size_t kFullSpanBytes = size_t(kQ8GroupRows) * kQ8SpanBlocks * 2 + kQ8SpanBlocks / 2 * kPairBytes;

// An fp16 scale's value: one instruction where the processor converts fp16 (F16C).
inline float half_value(uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  return f16_to_f32(h);
#endif
}

// The scale area of a span of n blocks: 8 rows of n fp16, rounded up to a cache line so
// that the quants after it start on one.
size_t scale_bytes(int n) { return (size_t(kQ8GroupRows) * size_t(n) * 2 + 63) / 64 * 64; }

// Where block j of the group's row `lane` starts within a span of n blocks: past the
// scale area, in block pair j / 2, the row's 64 bytes, the pair's first or second half.
size_t block_in_span(int n, int lane, int j) {
  return scale_bytes(n) + size_t(j / 2) * kPairBytes + size_t(lane) * 64 + size_t(j % 2) * kQ8Block;
}
}  // namespace

int Q8Matrix::span_blocks(int s) const { return std::min(kQ8SpanBlocks, padded_blocks - s * kQ8SpanBlocks); }

size_t Q8Matrix::span_offset(int s) const { return size_t(s) * kFullSpanBytes; }

// Where the span holding (row, block) starts in data; then where its 32 quants are, and
// its scale.
static size_t span_start(const Q8Matrix& m, int row, int block) {
  return size_t(row / kQ8GroupRows) * m.group_bytes + m.span_offset(block / kQ8SpanBlocks);
}
static size_t quant_at(const Q8Matrix& m, int row, int block) {
  return span_start(m, row, block) +
         block_in_span(m.span_blocks(block / kQ8SpanBlocks), row % kQ8GroupRows, block % kQ8SpanBlocks);
}
static size_t scale_at(const Q8Matrix& m, int row, int block) {
  return span_start(m, row, block) +
         (size_t(row % kQ8GroupRows) * size_t(m.span_blocks(block / kQ8SpanBlocks)) + size_t(block % kQ8SpanBlocks)) * 2;
}

int8_t Q8Matrix::quant(int row, int col) const { return data[quant_at(*this, row, col / kQ8Block) + col % kQ8Block]; }

float Q8Matrix::scale(int row, int block) const {
  uint16_t h;
  std::memcpy(&h, &data[scale_at(*this, row, block)], 2);
  return half_value(h);
}

Q8Matrix quantize_q8(const float* w, int rows, int cols) {
  Q8Matrix m;
  m.rows = rows, m.cols = cols, m.blocks = (cols + kQ8Block - 1) / kQ8Block;
  m.padded_blocks = (m.blocks + 1) / 2 * 2;
  const int spans = (m.padded_blocks + kQ8SpanBlocks - 1) / kQ8SpanBlocks;
  for (int s = 0; s < spans; ++s) m.group_bytes += scale_bytes(m.span_blocks(s)) + size_t(m.span_blocks(s)) / 2 * kPairBytes;
  m.data.assign(m.group_bytes * size_t(m.groups()), 0);  // padding rows and blocks stay zero
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < m.blocks; ++b) {
      float scale;
      quantize_block<true>(w + size_t(r) * cols + size_t(b) * kQ8Block, std::min(kQ8Block, cols - b * kQ8Block),
                           &m.data[quant_at(m, r, b)], scale);
      const uint16_t h = f32_to_f16(scale);  // the quants are of the fp32 scale, as ggml's
      std::memcpy(&m.data[scale_at(m, r, b)], &h, 2);
    }
  return m;
}

void q8_dequantize_row(float* out, const Q8Matrix& w, int row) { q8_dequantize_rows(out, w, row, row + 1); }

void q8_dequantize_rows(float* out, const Q8Matrix& w, int r0, int r1) {
  for (int r = r0; r < r1; ++r) {
    float* o = out + size_t(r - r0) * w.cols;
    const int8_t* group = w.data.data() + size_t(r / kQ8GroupRows) * w.group_bytes;
    const int lane = r % kQ8GroupRows;
    for (int s = 0, b0 = 0; b0 < w.blocks; ++s, b0 += kQ8SpanBlocks) {
      const int8_t* d = group + w.span_offset(s);
      const int n = std::min(w.span_blocks(s), w.blocks - b0);
      const auto* h = reinterpret_cast<const uint16_t*>(d) + lane * w.span_blocks(s);
      for (int j = 0; j < n; ++j) {
        const float scale = half_value(h[j]);
        const int8_t* qb = d + block_in_span(w.span_blocks(s), lane, j);
        const int len = std::min(kQ8Block, w.cols - (b0 + j) * kQ8Block);
        for (int k = 0; k < len; ++k) o[(b0 + j) * kQ8Block + k] = scale * float(qb[k]);  // vectorised (-O3)
      }
    }
  }
}

void q8_unpack(const Q8Matrix& w, std::vector<int8_t>& q, std::vector<float>& scale) {
  q.assign(size_t(w.rows) * w.blocks * kQ8Block, 0);
  scale.assign(size_t(w.rows) * w.blocks, 0.f);
  for (int r = 0; r < w.rows; ++r)
    for (int b = 0; b < w.blocks; ++b) {
      const size_t blk = size_t(r) * w.blocks + size_t(b);
      std::memcpy(&q[blk * kQ8Block], &w.data[quant_at(w, r, b)], kQ8Block);
      scale[blk] = w.scale(r, b);
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

// One group of 8 rows of W against one row of x: y8[r] = Σ_c W[8g + r, c] · x[c].
// `x` holds x's int8 blocks and `sx` their scales (x has `xblocks` blocks; W's rows may
// have one more, a zero padding block).
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
// Two blocks (64 bytes) of each of the 8 rows a step, read in the order they lie.
// vpdpbusd multiplies unsigned by signed bytes: the weights are made unsigned by adding
// 128 (flipping their top bit), which adds 128·Σx to each sum; each sum starts from
// -128·Σx instead of zero (one vpdpbusd of x a step, shared by the 8 rows), so the integer
// sums are exact. Each block's sum is scaled by its two scales in float: the product of
// both scales is formed for a span's 16 blocks at once, then spread over each block's
// eight lanes by one permute. At the 110M shape, one thread (bench/bench_matvec): the
// row-major layout with 8 rows in flight streamed 18–20 GB/s; this layout 23, and with a
// prefetch 1 KB ahead 29–31 (4 KB ahead: 27–29).
constexpr int kPrefetchBytes = 1024;

void group_kernel(float* y8, const int8_t* group, const Q8Matrix& w, const int8_t* x, const float* sx, int xblocks) {
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  __m512 acc[kQ8GroupRows];
  for (auto& a : acc) a = _mm512_setzero_ps();
  for (int s = 0, b0 = 0; b0 < w.padded_blocks; ++s, b0 += kQ8SpanBlocks) {
    const int8_t* d = group + w.span_offset(s);
    const int n = w.span_blocks(s);
    const __m512 xs = _mm512_maskz_loadu_ps(__mmask16((1u << std::min(n, xblocks - b0)) - 1), sx + b0);
    __m512 scale[kQ8GroupRows];  // scale[r][j] = W's scale × x's scale of block b0 + j
    for (int r = 0; r < kQ8GroupRows; ++r)
      scale[r] = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(__mmask16((1u << n) - 1), d + r * n * 2)), xs);
    d += scale_bytes(n);
    __m512i pick = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);  // blocks j, j+1 of the span
    for (int j = 0; j < n; j += 2, d += kPairBytes) {
      // x's odd last block reads 32 bytes (the rest zero: W's padding block is zero too).
      const __mmask64 bytes = b0 + j + 1 < xblocks ? ~__mmask64(0) : __mmask64(0xffffffffu);
      const __m512i xv = _mm512_maskz_loadu_epi8(bytes, x + size_t(b0 + j) * kQ8Block);
      const __m512i start = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), flip, xv));
      for (int r = 0; r < kQ8GroupRows; ++r) {
        _mm_prefetch(reinterpret_cast<const char*>(d) + r * 64 + kPrefetchBytes, _MM_HINT_T0);
        const __m512i wv = _mm512_xor_si512(_mm512_load_si512(d + r * 64), flip);
        const __m512i dot = _mm512_dpbusd_epi32(start, wv, xv);
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(pick, scale[r]), acc[r]);
      }
      pick = _mm512_add_epi32(pick, _mm512_set1_epi32(2));
    }
  }
  for (int r = 0; r < kQ8GroupRows; ++r) y8[r] = hsum(acc[r]);
}
#elif defined(__AVX2__) && defined(__F16C__)
// Eight sums of four int8 × int8 products each (the 32 products of a block, in the eight
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

// Each block's integer sums, scaled by both scales, gather in eight float lanes a row;
// the lanes are added up once at the end.
void group_kernel(float* y8, const int8_t* group, const Q8Matrix& w, const int8_t* x, const float* sx, int xblocks) {
  __m256 acc[kQ8GroupRows];
  for (auto& a : acc) a = _mm256_setzero_ps();
  for (int s = 0, b0 = 0; b0 < w.padded_blocks; ++s, b0 += kQ8SpanBlocks) {
    const int8_t* d = group + w.span_offset(s);
    const int span = w.span_blocks(s), n = std::min(span, xblocks - b0);  // x's blocks: W's padding block is zero
    float scale[kQ8GroupRows][kQ8SpanBlocks];
    for (int r = 0; r < kQ8GroupRows; ++r)
      for (int j = 0; j < n; ++j) scale[r][j] = half_value(reinterpret_cast<const uint16_t*>(d)[r * span + j]) * sx[b0 + j];
    for (int j = 0; j < n; ++j) {
      const __m256i xv = load32(x + size_t(b0 + j) * kQ8Block);
      const int8_t* q = d + block_in_span(span, 0, j);
      for (int r = 0; r < kQ8GroupRows; ++r)
        acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(block_dot(load32(q + r * 64), xv)), _mm256_set1_ps(scale[r][j]), acc[r]);
    }
  }
  for (int r = 0; r < kQ8GroupRows; ++r) y8[r] = hsum(acc[r]);
}
#else
// Plain C++, block by block.
void group_kernel(float* y8, const int8_t* group, const Q8Matrix& w, const int8_t* x, const float* sx, int xblocks) {
  float acc[kQ8GroupRows] = {};
  for (int s = 0, b0 = 0; b0 < w.padded_blocks; ++s, b0 += kQ8SpanBlocks) {
    const int8_t* d = group + w.span_offset(s);
    const int span = w.span_blocks(s), n = std::min(span, xblocks - b0);
    uint16_t h[kQ8GroupRows * kQ8SpanBlocks];
    std::memcpy(h, d, size_t(kQ8GroupRows) * span * 2);
    for (int j = 0; j < n; ++j) {
      const int8_t* xb = x + size_t(b0 + j) * kQ8Block;
      const int8_t* q = d + block_in_span(span, 0, j);
      for (int r = 0; r < kQ8GroupRows; ++r) {
        int dot = 0;
        for (int k = 0; k < kQ8Block; ++k) dot += int(q[r * 64 + k]) * int(xb[k]);
        acc[r] += float(dot) * (half_value(h[r * span + j]) * sx[b0 + j]);
      }
    }
  }
  for (int r = 0; r < kQ8GroupRows; ++r) y8[r] = acc[r];
}
#endif

}  // namespace

void q8_matvec_rows(float* y, const Q8Rows& x, const Q8Matrix& w, int o0, int o1, bool accumulate) {
  const size_t row_q = size_t(x.blocks) * kQ8Block;
  for (int g = o0 / kQ8GroupRows; g * kQ8GroupRows < o1; ++g)
    for (int i = 0; i < x.n; ++i) {  // the group stays in cache for the next x
      float r[kQ8GroupRows];
      group_kernel(r, w.data.data() + size_t(g) * w.group_bytes, w, x.q.data() + size_t(i) * row_q,
                   x.scale.data() + size_t(i) * x.blocks, x.blocks);
      for (int k = std::max(0, o0 - g * kQ8GroupRows); k < kQ8GroupRows && g * kQ8GroupRows + k < o1; ++k) {
        float& dst = y[size_t(i) * w.rows + size_t(g * kQ8GroupRows + k)];
        dst = accumulate ? dst + r[k] : r[k];
      }
    }
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
