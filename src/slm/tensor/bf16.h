#pragma once
// Matrix products in bfloat16, for mixed-precision training on CPUs that multiply bf16
// natively (AVX512_BF16: Zen 4, Cooper Lake, Sapphire Rapids; AMX-BF16): the operands
// are rounded to bf16 (8 bits of mantissa, fp32's range) and the products summed in fp32,
// as GPUs train in mixed precision. The weights the optimiser updates stay fp32 (the
// "master" copy); only the copies a product reads are bf16, made per call.
// The products are oneDNN's (libdnnl), whose kernels use vdpbf16ps / AMX tiles.
#include <cstdint>
#include <cstring>
#include <string>

namespace slm::tensor {

enum class Precision { fp32, bf16 };

// Whether this processor multiplies bf16 natively (else bf16 would be slower than fp32).
bool cpu_has_bf16();
// "fp32", "bf16", or "auto" (bf16 where cpu_has_bf16(), else fp32); throws slm::Error
// naming `what` for anything else, or for bf16 on a processor without it.
Precision parse_precision(const std::string& s, const std::string& what);
const char* precision_name(Precision p);

// out[i] = in[i] rounded to the nearest bf16 (ties to even), as raw bits.
void to_bf16(uint16_t* out, const float* in, int64_t n);
// The same for one row, on the calling thread only (to_bf16 opens a parallel region, too
// dear a row at a time and not wanted inside one): vcvtneps2bf16 where the CPU has it.
void to_bf16_row(uint16_t* out, const float* in, int n);
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);  // round to nearest, ties to even
}
float bf16_to_float(uint16_t b);
// out[i] = in[i] widened to float (exact); threads for large copies, as to_bf16.
void from_bf16(float* out, const uint16_t* in, int64_t n);

// C = alpha · op(A) · op(B) + beta · C, row-major as gemm(), with A and B rounded to bf16
// and the sums in fp32. A and B are contiguous (lda, ldb: their row lengths).
void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
               int ldb, float beta, float* C, int ldc);

// C[M, N] = A[M, K] · B[N, K]ᵀ + beta · C for operands already in bf16 (row-major, leading
// dimensions lda, ldb, ldc): q8 prompts dequantise their weights straight into bf16.
void gemm_bf16_nt(int M, int N, int K, const uint16_t* A, int lda, const uint16_t* B, int ldb, float beta, float* C,
                  int ldc);

}  // namespace slm::tensor
