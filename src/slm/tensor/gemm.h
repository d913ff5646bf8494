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

// Which BLAS kernel runs ("Haswell", "SkylakeX", ...), for benchmarks and logs.
const char* blas_core_name();
int blas_threads();

}  // namespace slm::tensor
