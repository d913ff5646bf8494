#pragma once
// Debian's OpenBLAS 0.3.21 does not recognise some current processors and falls back to
// its slowest generic kernels (about 5x slower on AVX-512 machines). The kernel can only
// be chosen by OPENBLAS_CORETYPE before the library loads, so a program calls this first
// thing in main(): when the detected kernel is a generic fallback on a processor with
// AVX-512 or AVX2, it sets OPENBLAS_CORETYPE to the right kernel and re-executes itself.
// Users never have to know. A user's own OPENBLAS_CORETYPE is always respected.

namespace slm::tensor {

// The kernel to ask for, or nullptr when the detected one is fine.
const char* better_blas_coretype();

// Re-executes the program with OPENBLAS_CORETYPE set when better_blas_coretype() says so.
void ensure_fast_blas(char** argv);

}  // namespace slm::tensor
