#include "slm/tensor/blas_setup.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "slm/tensor/gemm.h"

namespace slm::tensor {

const char* better_blas_coretype() {
  if (std::getenv("OPENBLAS_CORETYPE")) return nullptr;  // the user's choice stands
#if defined(__x86_64__)
  // Kernels older than Haswell: what OpenBLAS falls back to on processors it does not know.
  static const char* generic[] = {"Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom",
                                  "Barcelona", "Opteron", "Bobcat", "Katmai", "Northwood", "Banias"};
  const char* core = blas_core_name();
  bool is_generic = false;
  for (const char* g : generic) is_generic |= std::strcmp(core, g) == 0;
  if (!is_generic) return nullptr;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
  return nullptr;
}

void ensure_fast_blas(char** argv) {
  const char* core = better_blas_coretype();
  if (!core) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  execv("/proc/self/exe", argv);  // only returns on failure: then carry on with the slow kernel
}

}  // namespace slm::tensor
