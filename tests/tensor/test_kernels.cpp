// The hand-written inference kernels against the plain double-precision product: the
// fp32 matrix-vector slice (16, then 4 rows at a time, and its tails), the int8 VNNI dot
// products (8 rows and 2 blocks at a time, odd and partial blocks), the
// sliced GEMM and q8's dequantise-and-GEMM, each on shapes with tails (rows not a
// multiple of 4, columns not of 16 or 32), accumulating and not, inside a parallel region.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <vector>

#include "slm/tensor/bf16.h"
#include "slm/tensor/gemm.h"
#include "slm/tensor/matvec.h"
#include "slm/tensor/parallel.h"
#include "slm/tensor/q8.h"
#include "slm/util/rng.h"

using namespace slm;

namespace {

std::vector<float> random_vec(size_t n, Rng& rng) {
  std::vector<float> v(n);
  for (auto& x : v) x = float(rng.uniform() * 2 - 1);
  return v;
}

// y0 + x · Wᵀ in double.
std::vector<double> reference(const std::vector<float>& x, const std::vector<float>& w, const std::vector<float>& y0,
                              int n, int in, int out) {
  std::vector<double> y(size_t(n) * out);
  for (int i = 0; i < n; ++i)
    for (int o = 0; o < out; ++o) {
      double s = y0[size_t(i) * out + o];
      for (int c = 0; c < in; ++c) s += double(w[size_t(o) * in + c]) * x[size_t(i) * in + c];
      y[size_t(i) * out + o] = s;
    }
  return y;
}

double max_err(const std::vector<float>& got, const std::vector<double>& want) {
  double m = 0;
  for (size_t i = 0; i < got.size(); ++i) m = std::max(m, std::abs(double(got[i]) - want[i]));
  return m;
}

}  // namespace

TEST(Kernels, MatvecSlicesMatchThePlainProduct) {
  Rng rng(1);
  for (int in : {1, 15, 16, 17, 48, 288, 301})
    for (int out : {1, 3, 4, 7, 33, 37, 70}) {  // thread shares of 16 rows and tails of 4 and 1
      for (int n : {1, 2, 3}) {
        auto x = random_vec(size_t(n) * in, rng), w = random_vec(size_t(out) * in, rng);
        auto y0 = random_vec(size_t(n) * out, rng);
        for (bool acc : {false, true}) {
          std::vector<float> y = y0;
#pragma omp parallel num_threads(2)
          {
            auto [o0, o1] = tensor::thread_share(out, 4);
            tensor::matvec_rows(y.data(), x.data(), w.data(), n, in, out, o0, o1, acc);
          }
          std::vector<float> zero(y0.size(), 0.f);
          EXPECT_LT(max_err(y, reference(x, w, acc ? y0 : zero, n, in, out)), 1e-5 * in)
              << "in " << in << " out " << out << " n " << n << " accumulate " << acc;
        }
      }
    }
}

TEST(Kernels, SlicedGemmMatchesThePlainProduct) {
  Rng rng(2);
  for (int in : {16, 100, 2048})
    for (int out : {5, 40, 700}) {
      const int n = 9;
      auto x = random_vec(size_t(n) * in, rng), w = random_vec(size_t(out) * in, rng), y0 = random_vec(size_t(n) * out, rng);
      std::vector<float> y = y0;
#pragma omp parallel num_threads(2)
      {
        auto [o0, o1] = tensor::thread_share(out, 16);
        tensor::gemm_rows(y.data(), x.data(), w.data(), n, in, out, o0, o1, true);
      }
      EXPECT_LT(max_err(y, reference(x, w, y0, n, in, out)), 1e-5 * in) << in << " x " << out;
    }
}

// The int8 product equals, up to float rounding, the exact product of the int8 weights and
// the int8 activations with their scales (computed here from the blocks themselves).
TEST(Kernels, Q8DotProductsAreExactInt8Arithmetic) {
  Rng rng(3);
  // Blocks a row: 1, 2 (partial), 2, 9 (odd), 17 (a group of 16 and one), 25 (partial last),
  // 64; rows: tails of the 8-row kernel, and two threads' shares (multiples of 16).
  for (int cols : {32, 40, 64, 288, 544, 770, 2048})
    for (int rows : {1, 4, 6, 9, 17, 40}) {
      const int n = 2;
      auto w = random_vec(size_t(rows) * cols, rng), x = random_vec(size_t(n) * cols, rng);
      auto q = tensor::quantize_q8(w.data(), rows, cols);
      tensor::Q8Rows xq;
      tensor::q8_quantize_rows(xq, x.data(), n, cols);
      std::vector<float> y(size_t(n) * rows, 1.f);
#pragma omp parallel num_threads(2)
      {
        auto [o0, o1] = tensor::thread_share(rows, 16);
        tensor::q8_matvec_rows(y.data(), xq, q, o0, o1, true);
      }
      for (int i = 0; i < n; ++i)
        for (int o = 0; o < rows; ++o) {
          double want = 1;
          for (int b = 0; b < q.blocks; ++b) {
            int64_t dot = 0;
            for (int j = 0; j < 32; ++j)
              dot += int64_t(q.quant(o, b * 32 + j)) * xq.q[(size_t(i) * q.blocks + b) * 32 + j];
            want += double(dot) * q.scale(o, b) * xq.scale[size_t(i) * q.blocks + b];
          }
          EXPECT_NEAR(y[size_t(i) * rows + o], want, 1e-5 * (1 + std::abs(want))) << cols << " " << rows;
        }
    }
}

// A prompt's q8 product: in fp32, the float product with the dequantised weights; in bf16
// (where the processor has it), the product of the bf16 roundings of the dequantised
// weights and of x, summed in fp32, and within bf16's precision of the fp32 product.
TEST(Kernels, Q8GemmRowsIsTheProductWithTheDequantisedWeights) {
  Rng rng(4);
  for (auto [rows, cols] : {std::pair{50, 96}, std::pair{300, 100}, std::pair{37, 2048}}) {
    const int n = 7;
    auto w = random_vec(size_t(rows) * cols, rng), x = random_vec(size_t(n) * cols, rng);
    auto q = tensor::quantize_q8(w.data(), rows, cols);
    std::vector<float> deq(size_t(rows) * cols);
    tensor::q8_dequantize_rows(deq.data(), q, 0, rows);
    for (int o = 0; o < rows; ++o)
      for (int c = 0; c < cols; ++c)
        ASSERT_EQ(deq[size_t(o) * cols + c], q.scale(o, c / 32) * q.quant(o, c));
    auto rounded = [](const std::vector<float>& v) {  // bf16's value of each element, as float
      std::vector<uint16_t> b(v.size());
      tensor::to_bf16(b.data(), v.data(), int64_t(v.size()));
      std::vector<float> r(v.size());
      for (size_t i = 0; i < v.size(); ++i) r[i] = tensor::bf16_to_float(b[i]);
      return r;
    };
    const auto y0 = random_vec(size_t(n) * rows, rng);
    const auto fp32 = reference(x, deq, y0, n, cols, rows);
    for (bool bf16 : {false, true}) {
      if (bf16 && !tensor::cpu_has_bf16()) continue;
      std::vector<float> y = y0;
#pragma omp parallel num_threads(2)
      {
        tensor::Q8GemmScratch scratch;
        scratch.bf16 = bf16;
        auto [o0, o1] = tensor::thread_share(rows, 16);
        tensor::q8_gemm_rows(y.data(), x.data(), n, q, o0, o1, scratch, /*accumulate=*/true);
      }
      const auto want = bf16 ? reference(rounded(x), rounded(deq), y0, n, cols, rows) : fp32;
      EXPECT_LT(max_err(y, want), 1e-5 * cols) << rows << " x " << cols << " bf16 " << bf16;
      // Each product's two roundings: ≤ 2⁻⁸ of |w|·|x| (≤ 1 here), summed over cols at random signs.
      if (bf16) {
        EXPECT_GT(max_err(y, fp32), 1e-6) << "the operands were not rounded to bf16";
        EXPECT_LT(max_err(y, fp32), 4.0 / 256 * std::sqrt(double(cols))) << rows << " x " << cols;
      }
    }
  }
}

TEST(Kernels, ThreadSharesCoverEverythingOnce) {
  for (int total : {0, 1, 15, 16, 17, 100, 32000})
    for (int threads : {1, 2, 3}) {
      std::vector<int> seen(size_t(total), 0);
#pragma omp parallel num_threads(threads)
      {
        auto [b, e] = tensor::thread_share(total, 16);
        EXPECT_EQ(b % 16, 0);
#pragma omp critical
        for (int i = b; i < e; ++i) ++seen[size_t(i)];
      }
      for (int i = 0; i < total; ++i) ASSERT_EQ(seen[size_t(i)], 1) << total << " items, " << threads << " threads";
    }
}

// bf16 GEMM: every transpose, against the double product of the bf16-rounded operands
// (sums in fp32 may differ only by rounding), and against fp32 by bf16's precision.
TEST(Kernels, Bf16GemmIsTheProductOfRoundedOperands) {
  if (!tensor::cpu_has_bf16()) GTEST_SKIP() << "no AVX512_BF16 on this processor";
  Rng rng(5);
  // Small, and with an A of over 2²⁰ values (converted in slices: rows of C, or parts of the sum).
  struct Shape { int M, N, K; };
  for (auto [M, N, K] : {Shape{37, 29, 70}, Shape{20000, 5, 64}, Shape{64, 5, 20000}})
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto A = random_vec(size_t(M) * K, rng), B = random_vec(size_t(K) * N, rng), C = random_vec(size_t(M) * N, rng);
      std::vector<uint16_t> a16(A.size()), b16(B.size());
      tensor::to_bf16(a16.data(), A.data(), int64_t(A.size()));
      tensor::to_bf16(b16.data(), B.data(), int64_t(B.size()));
      auto at = [&](const std::vector<uint16_t>& v, bool t, int r, int c, int rows, int cols) {
        return double(tensor::bf16_to_float(t ? v[size_t(c) * rows + r] : v[size_t(r) * cols + c]));
      };
      std::vector<float> got = C;
      tensor::gemm_bf16(ta, tb, M, N, K, 0.5f, A.data(), ta ? M : K, B.data(), tb ? K : N, 1.f, got.data(), N);
      double err = 0, vs_fp32 = 0;
      for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
          double s = 0, f = 0;
          for (int k = 0; k < K; ++k) {
            s += at(a16, ta, i, k, M, K) * at(b16, tb, k, j, K, N);
            f += double(ta ? A[size_t(k) * M + i] : A[size_t(i) * K + k]) * (tb ? B[size_t(j) * K + k] : B[size_t(k) * N + j]);
          }
          err = std::max(err, std::abs(got[size_t(i) * N + j] - (C[size_t(i) * N + j] + 0.5 * s)));
          vs_fp32 = std::max(vs_fp32, std::abs(got[size_t(i) * N + j] - (C[size_t(i) * N + j] + 0.5 * f)));
        }
      EXPECT_LT(err, 1e-5 * K) << M << "x" << N << "x" << K << " ta " << ta << " tb " << tb;
      EXPECT_GT(vs_fp32, 1e-5) << "the operands were not rounded to bf16";
      EXPECT_LT(vs_fp32, 2e-2 * std::sqrt(K / 70.0)) << M << "x" << N << "x" << K << " ta " << ta << " tb " << tb;
    }
}
