#pragma once
// Small AVX-512 helpers the hand-written kernels share (matvec.cpp, q8.cpp).
#if defined(__AVX512F__)
#include <immintrin.h>

namespace slm::tensor {

// The sum of 16 lanes. GCC 12 warns that the intrinsic's own placeholder operand is
// uninitialised (GCC bug 105593): a false alarm, silenced here only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }
#pragma GCC diagnostic pop

}  // namespace slm::tensor
#endif
