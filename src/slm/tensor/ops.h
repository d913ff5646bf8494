#pragma once
// The transformer's operations, each a forward and a backward over plain row-major
// buffers, as in llm.c. Templated on the scalar: float for training, double for the
// gradient checks, which run this same code against finite differences.
//
// Shapes: N rows (batch × time), C channels. Backward functions ACCUMULATE (+=) into
// parameter gradients and into input gradients unless said otherwise, so that a value
// used twice (the residual stream) sums its gradients.
#include <cstdint>

#include "slm/tensor/bf16.h"

namespace slm::tensor {

// Linear layer, weights [out, in] as Hugging Face stores them:  y[N,O] = x[N,I] · Wᵀ.
// With Precision::bf16 (float only) the operands of each product are rounded to bf16 and
// summed in fp32 (mixed-precision training, tensor/bf16.h); double ignores it.
template <class T>
void matmul_forward(T* y, const T* x, const T* w, int N, int I, int O, Precision p = Precision::fp32);
// dx[N,I] += dy · W;   dw[O,I] += dyᵀ · x.   (dx or dw may be null to skip.)
template <class T>
void matmul_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int N, int I, int O,
                     Precision p = Precision::fp32);

// Token embedding: out[n,:] = table[ids[n],:].
template <class T> void embedding_forward(T* out, const int32_t* ids, const T* table, int N, int C);
template <class T> void embedding_backward(T* dtable, const int32_t* ids, const T* dout, int N, int C);

// RMSNorm (Llama): y = x / sqrt(mean(x²) + eps) * w. Saves 1/rms per row in rstd. dw may be null.
template <class T> void rmsnorm_forward(T* y, T* rstd, const T* x, const T* w, int N, int C, float eps);
template <class T>
void rmsnorm_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd, int N, int C);

// Rotary position embedding in Hugging Face Llama's layout ("rotate_half": dimension i
// pairs with i + d/2), in place on x[B, T, heads, d], position = pos0 + t.
template <class T> void rope_forward(T* x, int B, int Tn, int heads, int d, float theta, int pos0 = 0);
// The backward of a rotation is the inverse rotation, in place on dx.
template <class T> void rope_backward(T* dx, int B, int Tn, int heads, int d, float theta);

// Causal self-attention with grouped-query heads: q [B,T,H,d], k and v [B,T,Hkv,d],
// out [B,T,H,d]; query head h reads key/value head h / (H / Hkv). att [B,H,T,T] keeps
// the softmax probabilities for the backward pass (the masked upper half is never read).
template <class T>
void attention_forward(T* out, T* att, const T* q, const T* k, const T* v, int B, int Tn, int H, int Hkv, int d);
// The same for Tq queries that come after Tk - Tq earlier positions (a forward resumed
// part-way, model/transformer.h): q and out [B,Tq,H,d] are positions Tk-Tq..Tk-1, k and v
// [B,Tk,Hkv,d] every position up to the last; att [B,H,Tq,Tk]. Forward only (inference).
template <class T>
void attention_forward_past(T* out, T* att, const T* q, const T* k, const T* v, int B, int Tq, int Tk, int H, int Hkv,
                            int d);
// dq, dk, dv are overwritten; datt is scratch of att's size.
template <class T>
void attention_backward(T* dq, T* dk, T* dv, T* datt, const T* dout, const T* q, const T* k, const T* v,
                        const T* att, int B, int Tn, int H, int Hkv, int d);

// SwiGLU: h = silu(g) * u, silu(g) = g / (1 + e^-g). dg and du are overwritten.
template <class T> void swiglu_forward(T* h, const T* g, const T* u, int64_t n);
template <class T> void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t n);

// Softmax cross-entropy over V classes, fused: returns the mean loss over the rows whose
// target is not -1 (ignored), and overwrites logits with dloss/dlogits scaled by
// grad_scale (the backward pass in the same sweep, as llm.c's fused classifier does).
// With weights (one a row), row n's loss counts weights[n] times: its gradient is scaled
// by grad_scale * weights[n] and the mean is weighted (instruction tuning uses this to
// give every example the same say, however long its response).
template <class T>
double cross_entropy_forward_backward(T* logits, const int32_t* targets, int N, int V, double grad_scale,
                                      int* counted = nullptr, const float* weights = nullptr);
// The loss alone (no gradient), for evaluation.
template <class T>
double cross_entropy_loss(const T* logits, const int32_t* targets, int N, int V, int* counted = nullptr,
                          const float* weights = nullptr);

}  // namespace slm::tensor
