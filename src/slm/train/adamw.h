#pragma once
// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, applied only to the
// tensors marked for decay (matrices; norms and, unless asked, embeddings are spared).
#include <cstdint>
#include <vector>

#include "slm/model/params.h"
#include "slm/util/aligned.h"

namespace slm::train {

class AdamW {
 public:
  // [lo, hi): the part of the flat parameter vector this optimizer updates and keeps
  // moments for (ZeRO-1: each rank owns one shard); hi < 0 means all of it.
  AdamW(const model::ParamLayout& layout, double beta1, double beta2, double eps, double weight_decay,
        bool decay_embeddings, int64_t lo = 0, int64_t hi = -1);
  // Over any set of named tensors in one buffer of `total` values (adapters: train/adapters.h).
  AdamW(const std::vector<model::TensorInfo>& tensors, int64_t total, double beta1, double beta2, double eps,
        double weight_decay);
  // One update with the step's learning rate; t counts updates from 1. params and grads
  // are the whole flat vectors; only [lo, hi) is read and changed.
  void step(float* params, const float* grads, double lr, int64_t t);
  // The moments of [lo, hi): m()[i] belongs to parameter lo + i.
  util::AlignedVector<float>& m() { return m_; }
  util::AlignedVector<float>& v() { return v_; }
  int64_t lo() const { return lo_; }
  int64_t hi() const { return hi_; }

 private:
  struct Range {
    int64_t offset, size;
    bool decay;
  };
  std::vector<Range> ranges_;
  util::AlignedVector<float> m_, v_;
  int64_t lo_ = 0, hi_ = 0;
  double beta1_, beta2_, eps_, wd_;
};

// The global L2 norm of the gradients; scales them down to max_norm when above it.
double clip_grad_norm(float* grads, int64_t n, double max_norm);

}  // namespace slm::train
