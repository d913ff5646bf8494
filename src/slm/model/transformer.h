#pragma once
// The transformer: forward and backward over a batch of token windows, as the math
// reads (see transformer.cpp). Templated on the scalar: float trains; double lets the
// tests check the whole model's gradients against finite differences.
#include <cstdint>
#include <vector>

#include "slm/model/config.h"
#include "slm/model/params.h"

namespace slm::model {

template <class T>
class Transformer {
 public:
  explicit Transformer(const ModelConfig& cfg);

  // GPT-2 style initialisation: N(0, 0.02), output projections scaled by 1/sqrt(2 layers),
  // norms at 1. Deterministic for a seed.
  void init_weights(uint64_t seed);

  // Logits for every position of inputs [B, T] (T <= context); kept in logits().
  void forward(const int32_t* inputs, int B, int Tn);
  // The mean next-token loss over targets (-1: ignored), without gradients.
  double loss(const int32_t* inputs, const int32_t* targets, int B, int Tn);
  // Forward, loss and backward: ADDS this batch's gradients, each token's loss weighted
  // by grad_scale (1 / tokens in the whole step), into grads(). Returns the mean loss.
  double forward_backward(const int32_t* inputs, const int32_t* targets, int B, int Tn, double grad_scale,
                          int* counted = nullptr);
  void zero_grad();

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  T* params() { return params_.data(); }
  const T* params() const { return params_.data(); }
  T* grads() { return grads_.data(); }
  T* param(int i) { return params_.data() + layout_.tensors[size_t(i)].offset; }
  T* grad(int i) { return grads_.data() + layout_.tensors[size_t(i)].offset; }
  int64_t num_params() const { return layout_.total; }
  const T* logits() const { return logits_.data(); }

  // Bytes of activations a batch of B x T keeps for the backward pass.
  static int64_t activation_bytes(const ModelConfig& c, int B, int Tn);

 private:
  void ensure_buffers(int B, int Tn);
  void backward(const int32_t* inputs);

  ModelConfig cfg_;
  ParamLayout layout_;
  std::vector<T> params_, grads_;
  int B_ = 0, T_ = 0;  // the shape of the last forward
  // Activations, per layer where the backward pass needs them.
  struct LayerActs {
    std::vector<T> x_in, xn1, rstd1, q, k, v, att, a, x_mid, xn2, rstd2, g, u, h;
  };
  std::vector<LayerActs> acts_;
  std::vector<T> x_out_, xnf_, rstdf_, logits_;
  // Scratch for gradients flowing backward.
  std::vector<T> dx_, dxn_, dq_, dk_, dv_, da_, datt_, dg_, du_, dh_;
};

}  // namespace slm::model
