#pragma once
// int8 weights with a scale per block of 32 (GGUF's Q8_0): w ≈ scale · q, with q in
// [-127, 127] and scale = max|w| / 127 over the block, kept in fp16 as Q8_0 keeps it (so
// a GGUF's Q8_0 tensor loads to exactly the weights llama.cpp multiplies). Decoding reads
// every weight once per token, so reading a quarter of the bytes is most of the speed-up;
// the activations are quantised the same way (fp32 scales) and each block's dot product
// is integer arithmetic (AVX-512 VNNI's vpdpbusd where the processor has it). A prompt's
// many rows instead dequantise the weights a slice at a time into a cache-sized buffer and
// run a GEMM on it: in bf16 where the processor multiplies bf16 (oneDNN's vdpbf16ps
// kernel, about twice OpenBLAS's fp32 on this machine), else in fp32. In bf16 the
// dequantised weight (scale · q) and the activation are each rounded to 8 significant
// bits (relative error ≤ 2⁻⁹) and the sums kept in fp32: finer than the int8 activations
// (≤ 1/254 of the block's largest) that decoding and llama.cpp's Q8_0 prompts multiply.
#include <cstdint>
#include <vector>

#include "slm/tensor/bf16.h"
#include "slm/util/aligned.h"

namespace slm::tensor {

constexpr int kQ8Block = 32;
constexpr int kQ8GroupRows = 8;    // rows interleaved into one stream
constexpr int kQ8SpanBlocks = 16;  // blocks of a row per span (512 columns)

// The matrix in the order decoding reads it, one stream instead of one per row. Why: a
// row-major layout (8 rows in flight, their scales in another array) streamed 18–20 GB/s
// at one thread where fp32 weights stream 30; this one streams 29–31 (bench_matvec).
// Rows go in groups of 8 (the last padded with zero rows); a group's row is cut into spans
// of 16 blocks (the last span shorter; a row's blocks are padded to an even count, so each
// 64-byte load holds two whole blocks). A span holds the 8 rows' fp16 scales, [row][block],
// padded to 64 bytes, then the quants two blocks at a time: [block pair][row][64 bytes].
struct Q8Matrix {
  int rows = 0, cols = 0;  // [out, in], as the float weights
  int blocks = 0;          // blocks a row: cols / 32 rounded up (the last may be partial)
  int padded_blocks = 0;   // blocks stored a row: `blocks` rounded up to even
  size_t group_bytes = 0;  // bytes of a group of 8 rows
  util::AlignedVector<int8_t> data;

  int64_t bytes() const { return int64_t(data.size()); }
  int groups() const { return (rows + kQ8GroupRows - 1) / kQ8GroupRows; }
  // Where span s starts within a group, and its block count.
  size_t span_offset(int s) const;
  int span_blocks(int s) const;
  // One weight's int8 value and one block's scale (tests, files: not a fast path).
  int8_t quant(int row, int col) const;
  float scale(int row, int block) const;
};

Q8Matrix quantize_q8(const float* w, int rows, int cols);

// One row of W as floats (scale · q): an embedding lookup from int8 weights.
void q8_dequantize_row(float* out, const Q8Matrix& w, int row);
// Rows [r0, r1) of W as floats, [r1 - r0, cols] (a prompt's GEMM reads them).
void q8_dequantize_rows(float* out, const Q8Matrix& w, int r0, int r1);
// W row-major, as slm's quantised safetensors store it: q [rows, blocks × 32] (a partial
// block padded with zeros) and the scales [rows, blocks] as floats.
void q8_unpack(const Q8Matrix& w, std::vector<int8_t>& q, std::vector<float>& scale);

// Activations in int8 blocks, row by row (the x of a decoding step's products).
struct Q8Rows {
  int n = 0, cols = 0, blocks = 0;
  std::vector<int8_t> q;     // n × blocks × 32
  std::vector<float> scale;  // n × blocks
};
void q8_quantize_rows(Q8Rows& out, const float* x, int n, int cols);

// y[i, o] (+)= Σ_c W[o, c] · x[i, c] for o in [o0, o1), in int8 with both blocks' scales;
// y is [x.n, w.rows]. With accumulate the product is added to y. Fastest when o0 is a
// multiple of 8 (a group straddling o0 or o1 is computed whole, its other rows dropped).
void q8_matvec_rows(float* y, const Q8Rows& x, const Q8Matrix& w, int o0, int o1, bool accumulate);

// A thread's buffers for q8_gemm_rows, kept between calls (a prompt runs many products).
struct Q8GemmScratch {
  bool bf16 = cpu_has_bf16();        // the product in bf16 (else fp32)
  std::vector<float> w32;            // a dequantised slice of W, fp32 (bf16: one row)
  std::vector<uint16_t> w16, x16;    // the same in bf16, and x in bf16
};

// y[:, o0:o1] (+)= x[n, cols] · W[o0:o1]ᵀ for a prompt's many rows: W's rows dequantised
// a slice (~256 KB) at a time into scratch (one per thread), each slice one GEMM.
void q8_gemm_rows(float* y, const float* x, int n, const Q8Matrix& w, int o0, int o1, Q8GemmScratch& scratch,
                  bool accumulate);

// y[n, rows] = x[n, cols] · Wᵀ with W in q8: fewer than kQ8GemmRows rows quantise x and
// multiply in int8; more dequantise W and multiply in float (GEMM). Opens its own
// parallel region.
constexpr int kQ8GemmRows = 4;
void q8_matmul(float* y, const float* x, const Q8Matrix& w, int n);

}  // namespace slm::tensor
