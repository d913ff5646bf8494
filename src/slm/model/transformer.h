#pragma once
// The transformer: forward and backward over a batch of token windows, as the math
// reads (see transformer.cpp). Templated on the scalar: float trains; double lets the
// tests check the whole model's gradients against finite differences.
#include <cstdint>
#include <functional>
#include <vector>

#include "slm/model/config.h"
#include "slm/model/hooks.h"
#include "slm/model/moe.h"
#include "slm/model/params.h"
#include "slm/tensor/bf16.h"
#include "slm/util/aligned.h"

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
  // weights (one a position, optional): each target's loss counts that many times.
  double loss(const int32_t* inputs, const int32_t* targets, int B, int Tn, const float* weights = nullptr);
  // Forward, loss and backward: ADDS this batch's gradients, each token's loss weighted
  // by grad_scale (1 / tokens in the whole step), into grads(). Returns the mean loss.
  double forward_backward(const int32_t* inputs, const int32_t* targets, int B, int Tn, double grad_scale,
                          int* counted = nullptr, const float* weights = nullptr);
  // Forward and backward with the caller's loss on the logits (distillation): head_loss
  // reads the logits [B*Tn, vocab], overwrites them with dloss/dlogits (already scaled)
  // and returns the loss; the gradients are ADDED into grads() as above. An MoE model's
  // aux losses (router balance and z) are added to the loss and the gradient as in
  // forward_backward, each token weighted by grad_scale (0: left out).
  double forward_backward_logits(const int32_t* inputs, int B, int Tn, const std::function<double(T* logits)>& head_loss,
                                 double grad_scale = 0);
  void zero_grad();
  // The precision of the linear layers' products (tensor/bf16.h): fp32 (the default), or
  // bf16 with fp32 sums, for float models. The weights and gradients stay in T.
  void set_precision(tensor::Precision p) { prec_ = p, B_ = T_ = 0; }  // buffers are remade for it
  tensor::Precision precision() const { return prec_; }

  const ModelConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  T* params() { return params_.data(); }
  const T* params() const { return params_.data(); }
  T* grads() { return grads_data(); }
  T* param(int i) { return params_.data() + layout_.tensors[size_t(i)].offset; }
  T* grad(int i) { return grads_data() + layout_.tensors[size_t(i)].offset; }
  int64_t num_params() const { return layout_.total; }
  const T* logits() const { return logits_.data(); }
  // Interpretability (model/hooks.h): the hook sees every forward's activations at its
  // sites until set_hook(nullptr). Not owned.
  void set_hook(ForwardHook<T>* hook) { hook_ = hook; }
  // forward() without the output head: the final-norm hidden states [B*Tn, dim] in
  // final_hidden(), for callers that need the logits of a few rows only.
  void forward_hidden(const int32_t* inputs, int B, int Tn) { forward_body(inputs, B, Tn); }
  const T* final_hidden() const { return xnf_.data(); }
  // A forward resumed part-way, for interpretability (explain/: a state put back changes
  // only the layers from its own on and the positions from its own on, so only those run).
  // The batch is B windows of positions [past, past + Tn) of longer inputs, from layer
  // `layer` on: x is that layer's input for those rows [B*Tn, dim]; keys[l] and values[l]
  // (l >= layer) are an earlier forward's keys (after RoPE) and values of the positions
  // before them [B, past, kv_dim] (unused when past is 0). layer == n_layers: only the
  // final norm. Leaves final_hidden() as forward_hidden() does; the hook sees the layers
  // run (not Site::embed), Site::attn_probs as [B, heads, Tn, past + Tn].
  struct Resume {
    int layer = 0, past = 0;
    const T* x = nullptr;
    std::vector<const T*> keys, values;
  };
  void forward_hidden_resumed(const Resume& r, int B, int Tn);
  // The last forward's keys (after RoPE) and values at layer l: [B*Tn, kv_dim].
  const T* keys(int l) const { return acts_[size_t(l)].k.data(); }
  const T* values(int l) const { return acts_[size_t(l)].v.data(); }

  // Parameter-efficient fine-tuning (train/lora.h). A frozen tensor gets no gradient: its
  // weight-gradient GEMM is skipped (the gradient still flows through it to the input).
  // When every tensor is frozen the gradient buffer is never allocated. on_linear_forward,
  // when set, is called in forward after each linear layer of the blocks (dense MLPs) with
  // the tensor, its input x [rows, in] and its output y [rows, out], which it may add to
  // (LoRA's dropout: the adapter's share on a dropped-out input). on_linear_backward, in
  // backward, gets the input x, the output's gradient dy [rows, out] and the input's
  // gradient dx [rows, in] (already dy·W), which it may add to.
  void set_frozen(int tensor, bool frozen) { frozen_[size_t(tensor)] = frozen; }
  bool frozen(int tensor) const { return frozen_[size_t(tensor)] != 0; }
  std::function<void(int tensor, const T* x, T* y, int rows)> on_linear_forward;
  std::function<void(int tensor, const T* x, const T* dy, T* dx, int rows)> on_linear_backward;
  // Called in backward as soon as layer l's gradients are final (layers come last to
  // first): data-parallel training starts that layer's all-reduce there, so it travels
  // while the layers below are still being worked on.
  std::function<void(int layer)> on_layer_grads;

  // Mixture of experts (model/moe.h). The weighted aux losses (load balance + z) of the
  // last forward, summed over the MoE layers: forward_backward's loss and gradient include
  // them, loss() does not (it is the evaluation's cross-entropy).
  double aux_loss() const { return aux_loss_; }
  // Routed tokens of each expert [layer][expert] summed over forward_backward calls since
  // the last take (empty rows for dense layers), and reset.
  std::vector<std::vector<int64_t>> take_expert_load();
  const MoeLayer<T>& moe_layer(int l) const { return moe_[size_t(l)]; }

  // Bytes of activations a batch of B x T keeps for the backward pass (with its scratch),
  // at the products' precision: bf16 keeps the layers' product inputs in bf16.
  static int64_t activation_bytes(const ModelConfig& c, int B, int Tn,
                                  tensor::Precision p = tensor::Precision::fp32);
  // The bytes those buffers hold now (after a forward pass): what activation_bytes predicts.
  int64_t buffer_bytes() const;

 private:
  void ensure_buffers(int B, int Tn);
  // forward() up to the final norm (xnf_), without the output head.
  void forward_body(const int32_t* inputs, int B, int Tn);
  // The layers from l0 on and the final norm, over the inputs already in acts_[l0].x_in
  // (x_out_ when l0 == n_layers); r: a resumed forward's earlier positions, or null.
  void forward_layers(int l0, int B, int Tn, const Resume* r);
  // The rows whose target counts, when they are few enough that computing the head for
  // them alone pays (instruction tuning masks the prompts); empty: use every row.
  std::vector<int32_t> sparse_rows(const int32_t* targets, int N) const;
  // Logits (and their gradient, by the caller) for the selected rows only: xsel_, tsel_.
  void head_forward_rows(const std::vector<int32_t>& rows, const int32_t* targets, const float* weights);
  // From dlogits in logits_ (all rows, or the selected ones) down to the embeddings.
  void backward(const int32_t* inputs, const std::vector<int32_t>& rows);
  // The gradients, allocated on first use; a tensor's gradient, or null when it is frozen.
  T* grads_data();
  T* wgrad(int i) { return frozen(i) ? nullptr : grad(i); }
  // A linear layer of a block: y = x·Wᵀ, then on_linear_forward.
  void linear_forward(T* y, const T* x, int w, int N, int in, int out);
  // A linear layer's backward: dx += dy·W, dW (unless frozen), then on_linear_backward.
  void linear_backward(T* dx, int w, const T* dy, const T* x, int in, int out);

  ModelConfig cfg_;
  ParamLayout layout_;
  tensor::Precision prec_ = tensor::Precision::fp32;
  ForwardHook<T>* hook_ = nullptr;
  util::AlignedVector<T> params_, grads_;  // cache-line aligned: the kernels stream them
  std::vector<uint8_t> frozen_;  // a flag a tensor
  int B_ = 0, T_ = 0;  // the shape of the last forward
  // Activations, per layer where the backward pass needs them.
  struct LayerActs {
    std::vector<T> x_in, xn1, rstd1, q, k, v, att, a, x_mid, xn2, rstd2, g, u, h;
    // With bf16 products: xn1, a, xn2 and h, which only products read again (for their
    // weights' gradients), are kept as the bf16 the products round them to, half the
    // memory; the T vectors above stay empty and they are computed in stash_.
    std::vector<uint16_t> xn1_16, a_16, xn2_16, h_16;
  };
  std::vector<LayerActs> acts_;
  bool bf16_acts_ = false;  // the layers' product inputs are kept in bf16 (set by ensure_buffers)
  std::vector<T> stash_;    // bf16_acts_: where a product input is computed, or widened again
  // Where a product input is computed: its own buffer, or stash_ when kept in bf16.
  T* product_input(std::vector<T>& own) { return bf16_acts_ ? stash_.data() : own.data(); }
  // stash_ rounded into the layer's bf16 copy (when kept in bf16); stash_ is unchanged.
  void keep(std::vector<uint16_t>& half, size_t n);
  // For the backward pass: the input again, own or widened from bf16 into stash_.
  const T* product_input_again(const std::vector<T>& own, const std::vector<uint16_t>& half, size_t n);
  std::vector<MoeLayer<T>> moe_;  // one a layer; used where cfg_.moe_layer(l)
  double aux_loss_ = 0, aux_scale_ = 0;
  std::vector<std::vector<int64_t>> expert_load_;
  void add_expert_load();
  std::vector<T> x_out_, xnf_, rstdf_, logits_;
  std::vector<T> k_past_, v_past_, att_past_;  // a resumed forward's keys and values with the earlier positions
  std::vector<T> xsel_, dxsel_;  // the final-norm output of the selected rows, and its gradient
  std::vector<int32_t> tsel_;    // their targets
  std::vector<float> wsel_;      // and weights
  // Scratch for gradients flowing backward.
  std::vector<T> dx_, dxn_, dq_, dk_, dv_, da_, datt_, dg_, du_, dh_;
};

}  // namespace slm::model
