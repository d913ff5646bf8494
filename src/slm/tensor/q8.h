#pragma once
// int8 weights with a scale per block of 32 (as GGUF's Q8_0): w ≈ scale · q, with
// q in [-127, 127] and scale = max|w| / 127 over the block. Decoding reads every weight
// once per token, so reading a quarter of the bytes is most of the speed-up; the
// weights are turned back into floats on the fly inside the dot products.
#include <cstdint>
#include <vector>

namespace slm::tensor {

constexpr int kQ8Block = 32;

struct Q8Matrix {
  int rows = 0, cols = 0;     // [out, in], as the float weights
  int blocks = 0;             // blocks a row: cols / 32 rounded up (the last may be partial)
  std::vector<int8_t> q;      // rows × blocks × 32 (a partial block is padded with zeros)
  std::vector<float> scale;   // rows × blocks
  int64_t bytes() const { return int64_t(q.size()) + int64_t(scale.size()) * 4; }
};

Q8Matrix quantize_q8(const float* w, int rows, int cols);

// One row of W as floats (scale · q): an embedding lookup from int8 weights.
void q8_dequantize_row(float* out, const Q8Matrix& w, int row);

// y[n, rows] = x[n, cols] · Wᵀ with W in q8.
void q8_matmul(float* y, const float* x, const Q8Matrix& w, int n);

}  // namespace slm::tensor
