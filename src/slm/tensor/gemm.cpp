#include "slm/tensor/gemm.h"

#include <cblas.h>

#include <cstddef>

namespace slm::tensor {

void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
          double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

void gemv(int M, int N, const float* A, const float* x, float* y) {
  cblas_sgemv(CblasRowMajor, CblasNoTrans, M, N, 1.f, A, N, x, 1, 0.f, y, 1);
}

void gemv(int M, int N, const double* A, const double* x, double* y) {
  cblas_dgemv(CblasRowMajor, CblasNoTrans, M, N, 1.0, A, N, x, 1, 0.0, y, 1);
}

void gemm_rows(float* y, const float* x, const float* w, int n, int in, int out, int o0, int o1, bool accumulate) {
  const int slice = gemm_slice_rows(in);
  for (int r = o0; r < o1; r += slice) {
    const int len = r + slice < o1 ? slice : o1 - r;
    gemm(false, true, n, len, in, 1.f, x, in, w + size_t(r) * in, in, accumulate ? 1.f : 0.f, y + r, out);
  }
}

const char* blas_core_name() { return openblas_get_corename(); }
int blas_threads() { return openblas_get_num_threads(); }

}  // namespace slm::tensor
