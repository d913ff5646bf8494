#pragma once
// The matrix-vector product of decoding, for a slice of the output: a decoded token reads
// every weight once and does two flops with it, so the speed is the memory's. Sixteen weight
// rows go at once (sixteen independent sums in flight, each x chunk loaded once for all
// of them), over the few rows of x a decoding step has (one a live sequence).
namespace slm::tensor {

// y[i, o] (+)= Σ_c w[o, c] · x[i, c] for i < n and o in [o0, o1); w is [out, in], x is
// [n, in], y is [n, out]. With accumulate the product is added to y (a residual).
void matvec_rows(float* y, const float* x, const float* w, int n, int in, int out, int o0, int o1, bool accumulate);

}  // namespace slm::tensor
