#pragma once
// 64-bit content hashing for de-duplication and deterministic splits. FNV-1a over 8-byte
// words followed by a murmur finaliser: fast, stable across runs and machines.
#include <cstdint>
#include <cstring>
#include <string_view>

namespace slm {

inline uint64_t hash64(std::string_view s, uint64_t seed = 0) {
  uint64_t h = 0xcbf29ce484222325ull ^ (seed * 0x9E3779B97F4A7C15ull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; i < s.size(); ++i) h = (h ^ uint8_t(s[i])) * 0x100000001b3ull;
  h ^= s.size();
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace slm

namespace slm {

// The held-out split every command uses: key goes to the held-out side when its hash
// (under salt) falls in the first `fraction` of the range. Deterministic, independent of
// order, and stable across runs and machines.
inline bool held_out(std::string_view key, double fraction, uint64_t salt = 0x5eed) {
  return double(hash64(key, salt) % 1000000000ull) < fraction * 1e9;
}

}  // namespace slm
