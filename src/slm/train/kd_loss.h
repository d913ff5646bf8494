#pragma once
// The knowledge-distillation loss on a student's logits (Hinton et al. 2015), one row per
// position (slm distill; GRPO's --ptx-loss kl, align/pretrain_mix.h, with alpha 0):
//
//   loss = α · CE(z, y) + (1 − α) · τ² · KL(p ‖ q),   p = softmax(t / τ), q = softmax(z / τ)
//
// z: the student's logits, t: the teacher's, y: the label, τ: the temperature. The τ²
// keeps the soft term's gradient on the scale of the hard one as τ grows. Reverse KL
// (MiniLLM, Gu et al. 2023) swaps the arguments, KL(q ‖ p): the student is pushed onto the
// teacher's main modes instead of spreading over all of them.
//
// The teacher is either dense (all V logits of each row: a teacher run on the fly) or its
// top-k (ids and logits, from a cache on disk). With top-k, p is the softmax over those k
// logits alone (the rest of the vocabulary gets p = 0, "sparse" KD), so only forward KL is
// defined: reverse KL would weigh log 0 wherever the student puts mass outside the top-k.
//
// Gradients, per row (see the gradient checks in tests/distill/):
//   forward KL:  dL/dz = α (softmax(z) − onehot(y)) + (1 − α) τ (q − p)
//   reverse KL:  dL/dz = α (softmax(z) − onehot(y)) + (1 − α) τ q ⊙ (log q − log p − KL(q ‖ p))
#include <cstdint>

namespace slm::train {

enum class Divergence { forward, reverse };

struct KdOptions {
  double alpha = 0.5;        // weight of the label's cross-entropy; 1 − α weighs the teacher
  double temperature = 1.0;  // τ > 0 (1 measured best here: docs/distillation.md)
  Divergence divergence = Divergence::forward;
};

// What the teacher says about N rows: dense logits [N, V], or the top-k [N, k].
struct TeacherLogits {
  const float* dense = nullptr;
  const int32_t* topk_ids = nullptr;
  const float* topk_logits = nullptr;
  int k = 0;
};

// The mean over the counted rows (target != -1) of the loss and of its two parts; with
// weights (one a row, as train::Batch::w), the weighted mean.
struct KdLoss {
  double loss = 0, ce = 0, kl = 0;
  int64_t counted = 0;
};

// Loss, and the logits overwritten with dloss/dlogits · grad_scale (rows with target -1
// get 0), in one sweep as the fused cross-entropy does; with weights, row n's gradient is
// also multiplied by weights[n] (the gradient of Σ w·loss, as the model's weighted
// cross-entropy). Throws slm::Error for options out of range or reverse KL with a top-k
// teacher.
template <class T>
KdLoss kd_forward_backward(T* logits, const int32_t* targets, const TeacherLogits& teacher, int N, int V,
                           const KdOptions& o, double grad_scale, const float* weights = nullptr);
// The loss alone.
template <class T>
KdLoss kd_loss(const T* logits, const int32_t* targets, const TeacherLogits& teacher, int N, int V,
               const KdOptions& o, const float* weights = nullptr);

// Checks α in [0, 1], τ > 0 and the divergence against the teacher's form.
void check_kd_options(const KdOptions& o, bool topk_teacher);

}  // namespace slm::train
