#pragma once
// Parameters trained in place of the model's own (parameter-efficient fine-tuning, e.g.
// LoRA in lora.h): the training loop steps AdamW on these, keeps optimizer moments for
// these alone, and checkpoints them instead of the model's weights.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/params.h"

namespace slm::train {

class Adapters {
 public:
  virtual ~Adapters() = default;
  // Named tensors over params()/grads() (names, shapes, offsets, whether AdamW decays them).
  virtual const std::vector<model::TensorInfo>& tensors() const = 0;
  virtual int64_t size() const = 0;
  virtual float* params() = 0;
  virtual float* grads() = 0;
  virtual void zero_grad() = 0;
  // After each optimizer step: the model's weights follow the updated adapters.
  virtual void update_model() = 0;
  // Around each micro-batch's forward and backward in training (on) and after it (off):
  // what acts in training only (LoRA's dropout). key: which micro-batch, for its random draws.
  virtual void set_training(bool /*on*/, uint64_t /*key*/) {}
  // Writes the adapters' own files into a checkpoint or model folder; load() reads them
  // back (checking they fit the model) and updates the model.
  virtual void save(const std::string& dir) const = 0;
  virtual void load(const std::string& dir) = 0;
};

}  // namespace slm::train
