#pragma once
// Hooks into the transformer's forward pass, for interpretability (explain/: causal
// tracing, activation patching, the logit lens, attention maps): a hook object sees, and
// may overwrite, the activation at a few named sites as the forward computes it, so the
// rest of the pass continues from the changed values. No copy of the forward pass; with
// no hook set (the default) each site costs one pointer test.
namespace slm::model {

enum class Site {
  embed,       // the token embeddings [B*T, dim] (layer 0): the input of the first layer
  attn_probs,  // layer l's attention probabilities [B, heads, T, T], row = query, columns > row are 0.
               // Read only: the attention output is already computed from them.
  attn_heads,  // layer l's attention output per head, before Wo: [B*T, heads * head_dim], head h in
               // columns [h*head_dim, (h+1)*head_dim)
  attn_out,    // layer l's attention block output (Wo · heads) [B*T, dim], before the residual add
  mlp_out,     // layer l's MLP output [B*T, dim], before the residual add
  resid,       // the residual stream after layer l [B*T, dim] (the next layer's input)
};

template <class T>
class ForwardHook {
 public:
  virtual ~ForwardHook() = default;
  // act: the site's activation at this layer for a batch of B windows of Tn tokens, laid
  // out as Site says; rows are position-major within a window (row b*Tn + t).
  virtual void at(Site site, int layer, T* act, int B, int Tn) = 0;
};

}  // namespace slm::model
