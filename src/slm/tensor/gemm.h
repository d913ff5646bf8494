#pragma once
// The one GEMM of the project, row-major: C = alpha * op(A) * op(B) + beta * C, through
// OpenBLAS (cblas), for float (training) and double (the gradient checks' reference).
#include <cstdint>

namespace slm::tensor {

void gemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
          int ldb, float beta, float* C, int ldc);
void gemm(bool trans_a, bool trans_b, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
          int ldb, double beta, double* C, int ldc);

// y = A x for row-major A [M, N] (the matrix-vector product of decoding one token).
void gemv(int M, int N, const float* A, const float* x, float* y);
void gemv(int M, int N, const double* A, const double* x, double* y);

// A matrix product split by rows of W (each thread its share, inside a parallel region
// where OpenBLAS runs single-threaded) goes this many rows of W at a time: about 256 KB,
// so that a slice stays in L2 while the GEMM sweeps x past it.
inline int gemm_slice_rows(int cols) {
  const int rows = 65536 / (cols > 0 ? cols : 1) / 16 * 16;
  return rows < 16 ? 16 : rows > 512 ? 512 : rows;
}
// y[:, o0:o1] (+)= x[n, in] · W[o0:o1]ᵀ for W [out, in], y [n, out], slice by slice.
void gemm_rows(float* y, const float* x, const float* w, int n, int in, int out, int o0, int o1, bool accumulate);

// Which BLAS kernel runs ("Haswell", "SkylakeX", ...), for benchmarks and logs.
const char* blas_core_name();
int blas_threads();

}  // namespace slm::tensor
