#pragma once
// IEEE 754 half precision (fp16: 5 exponent bits, 10 mantissa bits), as raw bits: GGUF's
// F16 tensors and the scales of its Q8_0 blocks, and the scales of slm's int8 weights
// (tensor/q8.h), which are Q8_0's.
#include <cstdint>

namespace slm::tensor {

uint16_t f32_to_f16(float f);  // round to nearest even; overflow to infinity
float f16_to_f32(uint16_t h);   // exact

}  // namespace slm::tensor
