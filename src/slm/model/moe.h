#pragma once
// A mixture-of-experts MLP (docs/moe.md): a router picks experts_per_token of n_experts
// SwiGLU experts for each token, whose outputs are summed with the router's gates, plus
// n_shared_experts that every token runs (DeepSeekMoE). The work is grouped: each
// expert runs one GEMM over the tokens routed to it, never a dense loop over all experts.
//
// The router adds two losses to the objective, both over this layer's N tokens:
//   load balance (Switch Transformer): α · E · Σᵢ fᵢ · Pᵢ, fᵢ the share of the N·k
//     routed slots that chose expert i (a count: no gradient), Pᵢ the mean router
//     probability of expert i;
//   z-loss (ST-MoE): β · mean over tokens of logsumexp(router logits)².
// The router runs in full precision whatever the experts' precision (fp32 for float).
#include <cstdint>
#include <vector>

#include "slm/model/config.h"
#include "slm/model/params.h"
#include "slm/tensor/bf16.h"

namespace slm::model {

template <class T>
class MoeLayer {
 public:
  MoeLayer() = default;
  MoeLayer(const ModelConfig& c, const ParamLayout& layout, int layer);

  // out[N,C] = Σⱼ gateⱼ · expert_eⱼ(xn) + shared(xn), overwriting out. Keeps what the
  // backward pass needs. Returns the layer's weighted aux loss (balance + z).
  double forward(T* out, const T* xn, int N, const T* params, tensor::Precision prec);
  // From dout[N,C]: ADDS dL/dxn into dxn and the weights' gradients into grads.
  // aux_scale weighs the aux losses' gradients (0: the objective leaves them out).
  void backward(T* dxn, const T* dout, const T* xn, const T* params, T* grads, double aux_scale,
                tensor::Precision prec);

  // Routed slots each expert ran in the last forward (after capacity drops).
  const std::vector<int64_t>& counts() const { return counts_; }
  // The last forward's two aux losses, unweighted (for logs and tests).
  double balance_loss() const { return lb_; }
  double z_loss() const { return z_; }
  const std::vector<T>& router_logits() const { return logits_; }  // [N, E] of the last forward

 private:
  void route(const T* params, const T* xn, int N);
  void group(int N);
  void gates_backward(T* dr, const T* dgate, int N, double aux_scale) const;

  ModelConfig c_;
  int E_ = 0, K_ = 0, C_ = 0, Fe_ = 0, Fs_ = 0, N_ = 0;
  int64_t router_ = 0, s_gate_ = -1, s_up_ = -1, s_down_ = -1;  // offsets into params
  std::vector<int64_t> w_gate_, w_up_, w_down_;                 // one an expert

  std::vector<T> logits_, probs_, lse_;  // [N,E], [N,E], [N]
  std::vector<int> choice_;              // [N,K]: the chosen experts, best first
  std::vector<char> kept_;               // [N,K]: 0 when capacity dropped the slot
  std::vector<T> gate_;                  // [N,K]
  std::vector<double> share_;            // [E]: fᵢ
  std::vector<int64_t> counts_;          // [E]
  double lb_ = 0, z_ = 0;
  // The routed rows grouped by expert: expert e's rows are offset_[e] .. offset_[e+1].
  std::vector<int> offset_, row_token_, row_slot_;
  std::vector<T> xg_, g_, u_, h_, y_;  // [rows, C|Fe]
  std::vector<T> sg_, su_, sh_;        // the shared experts [N, Fs]
  // Backward scratch.
  std::vector<T> dy_, dh_, dg_, du_, dxg_, dgate_, dr_;
};

}  // namespace slm::model
