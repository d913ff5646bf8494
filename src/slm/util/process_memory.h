#pragma once
// How much memory this process holds now (resident set, from /proc/self/statm): what
// training logs each step, so memory claims (ZeRO-1's saving) are measured, not estimated.
#include <cstdint>

namespace slm {

// Resident bytes now, or 0 where /proc is not there.
int64_t resident_bytes();

}  // namespace slm
