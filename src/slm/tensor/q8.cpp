#include "slm/tensor/q8.h"

#include <cmath>
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

namespace {
// 32 products of int8 weights and floats, in 8 independent lanes, so the compiler can
// vectorise without reordering a float sum.
inline float dot32(const int8_t* q, const float* x) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < kQ8Block; j += 8)
    for (int l = 0; l < 8; ++l) lane[l] += float(q[j + l]) * x[j + l];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}
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
  const int full = w.cols / kQ8Block, tail = w.cols - full * kQ8Block;
#pragma omp parallel for schedule(static)
  for (int o = 0; o < w.rows; ++o) {
    const int8_t* q = w.q.data() + size_t(o) * w.blocks * kQ8Block;
    const float* s = w.scale.data() + size_t(o) * w.blocks;
    for (int i = 0; i < n; ++i) {
      const float* xi = x + size_t(i) * w.cols;
      float acc = 0;
      for (int b = 0; b < full; ++b) acc += dot32(q + b * kQ8Block, xi + b * kQ8Block) * s[b];
      if (tail) {
        float part = 0;
        for (int j = 0; j < tail; ++j) part += float(q[full * kQ8Block + j]) * xi[full * kQ8Block + j];
        acc += part * s[full];
      }
      y[size_t(i) * w.rows + o] = acc;
    }
  }
}

}  // namespace slm::tensor
