#pragma once
// Decoding's attention over a KV cache: one query head against one key/value head's cached
// positions, the cache in fp32 or bf16 (raw bits, as tensor/bf16.h).
#include <cstdint>

namespace slm::infer {

// out[d] = softmax(q·kₜ · scale over t < n) · v, k and v [n][d] contiguous and 64-byte
// aligned; s is scratch of n floats (left holding the softmax's numerators).
void attend_head(float* out, const float* q, const float* k, const float* v, int n, int d, float scale, float* s);
void attend_head(float* out, const float* q, const uint16_t* k, const uint16_t* v, int n, int d, float scale,
                 float* s);

}  // namespace slm::infer
