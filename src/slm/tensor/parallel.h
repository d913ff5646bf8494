#pragma once
// Splitting work inside one OpenMP parallel region by hand, for kernels that run in a
// region the caller opened (the inference engine opens one a call and every operation
// shares it, instead of each opening and closing its own).
#include <omp.h>

#include <algorithm>
#include <utility>

namespace slm::tensor {

// This thread's share [begin, end) of `total` items, split evenly across the team in
// multiples of `align` (whole cache lines of the output, so that no two threads write
// the same line). Outside a parallel region: everything.
inline std::pair<int, int> thread_share(int total, int align) {
  const int t = omp_get_thread_num(), nt = omp_get_num_threads();
  const int units = (total + align - 1) / align;
  const int b = int(int64_t(units) * t / nt), e = int(int64_t(units) * (t + 1) / nt);
  return {std::min(total, b * align), std::min(total, e * align)};
}

}  // namespace slm::tensor
