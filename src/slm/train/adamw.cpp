#include "slm/train/adamw.h"

#include <algorithm>
#include <cmath>

namespace slm::train {

AdamW::AdamW(const model::ParamLayout& layout, double beta1, double beta2, double eps, double weight_decay,
             bool decay_embeddings, int64_t lo, int64_t hi)
    : lo_(lo), hi_(hi < 0 ? layout.total : hi), beta1_(beta1), beta2_(beta2), eps_(eps), wd_(weight_decay) {
  m_.assign(size_t(hi_ - lo_), 0.f);
  v_.assign(size_t(hi_ - lo_), 0.f);
  for (size_t i = 0; i < layout.tensors.size(); ++i) {
    const auto& t = layout.tensors[i];
    bool decay = t.decay || (decay_embeddings && int(i) == layout.embed);
    // The part of the tensor inside [lo, hi), if any.
    const int64_t a = std::max(t.offset, lo_), b = std::min(t.offset + t.size, hi_);
    if (a < b) ranges_.push_back({a, b - a, decay});
  }
}

AdamW::AdamW(const std::vector<model::TensorInfo>& tensors, int64_t total, double beta1, double beta2, double eps,
             double weight_decay)
    : m_(size_t(total), 0.f), v_(size_t(total), 0.f), lo_(0), hi_(total), beta1_(beta1), beta2_(beta2), eps_(eps),
      wd_(weight_decay) {
  for (const auto& t : tensors) ranges_.push_back({t.offset, t.size, t.decay});
}

void AdamW::step(float* params, const float* grads, double lr, int64_t t) {
  const double bc1 = 1.0 - std::pow(beta1_, double(t)), bc2 = 1.0 - std::pow(beta2_, double(t));
  const float b1 = float(beta1_), b2 = float(beta2_);
  for (const auto& r : ranges_) {
    const float decay = r.decay ? float(lr * wd_) : 0.f;
    const float step_size = float(lr / bc1), inv_bc2 = float(1.0 / bc2), eps = float(eps_);
#pragma omp parallel for schedule(static)
    for (int64_t i = r.offset; i < r.offset + r.size; ++i) {
      const float g = grads[i];
      float& m = m_[size_t(i - lo_)];
      float& v = v_[size_t(i - lo_)];
      m = b1 * m + (1.f - b1) * g;
      v = b2 * v + (1.f - b2) * g * g;
      params[i] -= decay * params[i];  // decoupled weight decay
      params[i] -= step_size * m / (std::sqrt(v * inv_bc2) + eps);
    }
  }
}

double clip_grad_norm(float* grads, int64_t n, double max_norm) {
  double ss = 0;  // a serial sum: the same order every run
  for (int64_t i = 0; i < n; ++i) ss += double(grads[i]) * grads[i];
  double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    float s = float(max_norm / (norm + 1e-6));
    for (int64_t i = 0; i < n; ++i) grads[i] *= s;
  }
  return norm;
}

}  // namespace slm::train
