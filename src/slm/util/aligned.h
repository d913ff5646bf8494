#pragma once
// std::vector storage aligned to a cache line (64 bytes). Why: malloc's large blocks start
// 16 bytes past a page boundary, so every 64-byte AVX-512 load of a weight row straddles
// two cache lines; streaming the stories110M weights at one thread measured 27.4 GB/s
// that way against 32.1 GB/s aligned (bench/bench_matvec, session 6), ~15% of decoding.
#include <cstddef>
#include <new>
#include <vector>

namespace slm::util {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
struct CacheAligned {
  using value_type = T;
  CacheAligned() = default;
  template <class U>
  CacheAligned(const CacheAligned<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(kCacheLine))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(kCacheLine)); }
  template <class U>
  bool operator==(const CacheAligned<U>&) const noexcept { return true; }
};

// A vector whose data() is 64-byte aligned.
template <class T>
using AlignedVector = std::vector<T, CacheAligned<T>>;

}  // namespace slm::util
