#include "slm/tensor/bf16.h"

#include <oneapi/dnnl/dnnl.h>

#include <cstring>
#include <vector>

#include "slm/util/error.h"

// oneDNN's BLAS-like bf16 GEMM (row-major, as dnnl_sgemm): exported by libdnnl since
// v1.2, though not declared in its public headers (CMakeLists.txt checks it links).
extern "C" dnnl_status_t dnnl_gemm_bf16bf16f32(char transa, char transb, dnnl_dim_t M, dnnl_dim_t N, dnnl_dim_t K,
                                               float alpha, const uint16_t* A, dnnl_dim_t lda, const uint16_t* B,
                                               dnnl_dim_t ldb, float beta, float* C, dnnl_dim_t ldc);

namespace slm::tensor {

bool cpu_has_bf16() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

Precision parse_precision(const std::string& s, const std::string& what) {
  if (s == "fp32") return Precision::fp32;
  if (s == "auto") return cpu_has_bf16() ? Precision::bf16 : Precision::fp32;
  if (s != "bf16") throw Error("unknown dtype '" + s + "' (expected fp32, bf16 or auto)", what);
  if (!cpu_has_bf16())
    throw Error("this processor has no bf16 arithmetic (AVX512_BF16): use fp32", what);
  return Precision::bf16;
}

const char* precision_name(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

void to_bf16(uint16_t* out, const float* in, int64_t n) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint32_t u;
    std::memcpy(&u, &in[i], 4);
    out[i] = uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // round to nearest, ties to even
  }
}

float bf16_to_float(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void gemm_bf16(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  // The bf16 copies live as long as the thread (one pair: products run one at a time).
  thread_local std::vector<uint16_t> a16, b16;
  const int64_t a_size = int64_t(ta ? K : M) * lda, b_size = int64_t(tb ? N : K) * ldb;
  a16.resize(size_t(a_size));
  b16.resize(size_t(b_size));
  to_bf16(a16.data(), A, a_size);
  to_bf16(b16.data(), B, b_size);
  const dnnl_status_t st = dnnl_gemm_bf16bf16f32(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, a16.data(), lda,
                                                 b16.data(), ldb, beta, C, ldc);
  if (st != dnnl_success) throw Error("oneDNN's bf16 GEMM failed (status " + std::to_string(int(st)) + ")");
}

}  // namespace slm::tensor
