#pragma once
// The one engine under causal tracing and activation patching: run the model on a "base"
// input (the prompt with its subject's embeddings corrupted by noise, or a counterfactual
// prompt) while restoring chosen activations from a "source" run (the clean prompt), many
// restorations in one batched forward: each restoration (and each noise sample) is one
// window of the batch, the hook (model/hooks.h) overwrites its rows as the forward passes.
#include <cstdint>
#include <functional>
#include <vector>

#include "slm/model/transformer.h"

namespace slm::explain {

// What one window of a batched run puts back from the source run: the activation of
// `site` at each of `layers`, at each of `positions`; for Site::attn_heads, only the
// columns of `head` when head >= 0.
struct Restore {
  model::Site site = model::Site::resid;
  std::vector<int> layers;
  std::vector<int> positions;
  int head = -1;
};

// Gaussian noise added to the base run's embeddings of tokens [begin, end), `samples`
// independent draws (each restoration runs once per draw), std = scale.
struct Noise {
  int begin = 0, end = 0, samples = 1;
  double scale = 0;
  uint64_t seed = 1;
};

class Patcher {
 public:
  // source and base must have the same length (<= the model's context). Runs the source
  // once and keeps its activations at every site and layer; runs the base once under every
  // noise draw and keeps its layers' inputs, keys and values, from which restorations resume.
  Patcher(model::Transformer<float>& m, std::vector<int32_t> source, std::vector<int32_t> base, Noise noise = {});
  ~Patcher();

  // Runs the base input with each restoration under each noise sample and calls
  // fn(item, sample, logits) with the next-token logits [vocab] of its last position.
  // A restoration changes nothing below its first layer and before its first position, so
  // its forward resumes there from the base run (Transformer::forward_hidden_resumed).
  // Restorations that resume at the same layer and nearly the same position run as one
  // batched forward (every noise draw a window) of at most max_tokens tokens; equal ones run once.
  void run(const std::vector<Restore>& items, const std::function<void(size_t, int, const float*)>& fn,
           int64_t max_tokens = 1 << 14);
  // The answer's probability with each restoration, the mean over the noise samples (ROME).
  std::vector<double> answer_probs(const std::vector<Restore>& items, int32_t answer);
  // The last position's logits with each restoration, the mean over the noise samples:
  // [items.size(), vocab].
  std::vector<float> last_logits(const std::vector<Restore>& items);

  // The source run's activation at a site and layer: [Tn, width], or [heads, Tn, Tn] for
  // the attention probabilities.
  const std::vector<float>& source(model::Site site, int layer) const;
  // The source run's last-position logits [vocab].
  const std::vector<float>& source_logits() const { return source_logits_; }
  // The noise draws: [samples, end - begin, dim], in units of scale.
  const std::vector<float>& noise_values() const { return noise_values_; }
  int tokens() const { return int(base_.size()); }
  int samples() const { return noise_.samples; }
  model::Transformer<float>& model() { return m_; }
  // Called after each batched forward of run() with the restorations done and their total.
  std::function<void(size_t done, size_t total)> on_progress;

 private:
  class Hook;
  // Where an item's forward resumes: the first layer run and the first position.
  struct Start {
    int layer = 0, pos = 0;
  };
  Start start_of(const Restore& r) const;
  // Runs items (indices into all, resuming at one layer, first positions >= pos) in one forward.
  void run_resumed(const std::vector<Restore>& all, const std::vector<size_t>& items, Start at,
                   const std::function<void(size_t, int, const float*)>& fn);
  // The logits of the last row of each window of the forward just run: [B, vocab].
  void head_of_last_rows(int B, int Tn, float* out);

  model::Transformer<float>& m_;
  std::vector<int32_t> base_;
  Noise noise_;
  std::vector<float> noise_values_;  // [samples, end - begin, dim]
  // The source's activations: [site][layer] -> as source() returns them
  std::vector<std::vector<std::vector<float>>> cache_;
  std::vector<float> source_logits_;
  // The base run under each noise draw ([samples, Tn, ...] each): the input of each layer
  // (row L: the last layer's output), and each layer's keys and values.
  std::vector<std::vector<float>> base_in_, base_k_, base_v_;
  // run_resumed's scratch: the windows' inputs, the earlier positions' keys and values, the logits.
  std::vector<float> x_, logits_;
  std::vector<std::vector<float>> keys_, values_;
};

// Softmax probability of token id in a row of logits.
double softmax_prob(const float* logits, int vocab, int32_t id);

}  // namespace slm::explain
