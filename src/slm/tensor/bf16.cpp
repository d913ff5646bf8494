#include "slm/tensor/bf16.h"

#include <oneapi/dnnl/dnnl.h>

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

#include <algorithm>
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
  // Threads only for large copies: below that, waking a team costs more than the copy.
#pragma omp parallel for simd schedule(static) if (n >= (int64_t(1) << 18))
  for (int64_t i = 0; i < n; ++i) out[i] = float_to_bf16(in[i]);
}

void to_bf16_row(uint16_t* out, const float* in, int n) {
  int c = 0;
#if defined(__AVX512BF16__)
  for (; c + 16 <= n; c += 16)  // vcvtneps2bf16: round to nearest even
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), __m256i(_mm512_cvtneps_pbh(_mm512_loadu_ps(in + c))));
#endif
  for (; c < n; ++c) out[c] = float_to_bf16(in[c]);
}

float bf16_to_float(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void from_bf16(float* out, const uint16_t* in, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n >= (int64_t(1) << 18))
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = uint32_t(in[i]) << 16;
    std::memcpy(&out[i], &u, 4);
  }
}

namespace {
// bf16 copies of the operands live as long as the thread (products run one at a time).
// A large A (the logits' gradient, tokens × vocabulary) is converted a slice of its stored
// rows at a time, so the copies stay small: bf16 training must not need more memory than
// fp32 does.
constexpr int64_t kSliceElems = int64_t(1) << 20;

void check(dnnl_status_t st) {
  if (st != dnnl_success) throw Error("oneDNN's bf16 GEMM failed (status " + std::to_string(int(st)) + ")");
}
}  // namespace

void gemm_bf16(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
               float beta, float* C, int ldc) {
  thread_local std::vector<uint16_t> a16, b16;
  const int64_t b_size = int64_t(tb ? N : K) * ldb;
  b16.resize(size_t(b_size));
  to_bf16(b16.data(), B, b_size);
  // A's stored rows: the rows of C (no transpose) or the summed dimension K (transposed).
  const int a_rows = ta ? K : M;
  const int slice = int(std::max<int64_t>(1, std::min<int64_t>(a_rows, kSliceElems / std::max(1, lda))));
  a16.resize(size_t(slice) * size_t(lda));
  for (int r = 0; r < a_rows; r += slice) {
    const int len = std::min(slice, a_rows - r);
    to_bf16(a16.data(), A + int64_t(r) * lda, int64_t(len) * lda);
    if (!ta) {  // rows r.. of C
      check(dnnl_gemm_bf16bf16f32('N', tb ? 'T' : 'N', len, N, K, alpha, a16.data(), lda, b16.data(), ldb, beta,
                                  C + int64_t(r) * ldc, ldc));
    } else {  // a slice of the sum over K: B's matching rows (or columns), added up
      const uint16_t* bs = b16.data() + (tb ? int64_t(r) : int64_t(r) * ldb);
      check(dnnl_gemm_bf16bf16f32('T', tb ? 'T' : 'N', M, N, len, alpha, a16.data(), lda, bs, ldb,
                                  r == 0 ? beta : 1.f, C, ldc));
    }
  }
}

void gemm_bf16_nt(int M, int N, int K, const uint16_t* A, int lda, const uint16_t* B, int ldb, float beta, float* C,
                  int ldc) {
  check(dnnl_gemm_bf16bf16f32('N', 'T', M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc));
}

}  // namespace slm::tensor
