#pragma once
// LoRA (Hu et al. 2021): fine-tuning with the base frozen and, beside each targeted
// linear layer W0 [out, in], two small matrices A [r, in] and B [out, r] trained instead:
//
//   y = x·W0ᵀ + s·(x·Aᵀ)·Bᵀ,   s = alpha / r.
//
// The forward pass runs on the merged weight W = W0 + s·B·A (exact, and as fast as the
// base); the backward pass skips the frozen weights' gradients and takes the adapters'
// from the layer's input x and output gradient dy with low-rank products:
//
//   dB = s·dyᵀ·(x·Aᵀ)   [out, r],      dA = s·(dy·B)ᵀ·x   [r, in].
//
// The gradient that flows on to x (dy·W) already includes the adapter's share through
// the merged W. A starts random (PEFT's Kaiming-uniform bound 1/sqrt(in)) and B at zero,
// so training starts from the base model exactly. Adapters are saved in Hugging Face
// PEFT's layout: adapter_config.json and adapter_model.safetensors with tensors named
// base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
//
// Dropout (PEFT's lora_dropout p) acts on the adapter branch's input only, in training:
//
//   y = x·W0ᵀ + s·(d(x)·Aᵀ)·Bᵀ,   d(x) = x ⊙ m / (1 - p),  m_ij ~ Bernoulli(1 - p).
//
// The forward pass still runs on the merged W and adds the difference the mask makes,
// s·((d(x) - x)·Aᵀ)·Bᵀ; backward takes dB and dA from d(x) in place of x, and adds to the
// input's gradient (dy·W) what the mask takes away, s·((dy·B)·A) ⊙ (m/(1-p) - 1). Out of
// training (evaluation, sampling, merging) there is no dropout: the merged W is exact.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/transformer.h"
#include "slm/train/adapters.h"

namespace slm::train {

struct LoraConfig {
  int rank = 8;
  double alpha = 16;
  // Hugging Face Llama module names: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj.
  std::vector<std::string> targets = {"q_proj", "v_proj"};
  double dropout = 0;  // lora_dropout: in [0, 1), training only
  std::string base;  // recorded as base_model_name_or_path

  double scale() const { return alpha / rank; }
  static LoraConfig none() {  // rank 0: no LoRA (full fine-tuning)
    LoraConfig c;
    c.rank = 0;
    return c;
  }
  // Throws slm::Error naming the field (`where`.rank, ...) and what is expected.
  void validate(const std::string& where) const;
  nlohmann::json to_peft_json() const;  // adapter_config.json
  static LoraConfig from_peft_json(const nlohmann::json& j, const std::string& where);
};

// "q,k,v,o,gate,up,down" (or the HF names, or "all") -> HF module names, in that order.
// An unknown name throws slm::Error naming `where` and the names it accepts.
std::vector<std::string> parse_lora_targets(const std::string& list, const std::string& where);

template <class T>
class LoraAdapters {
 public:
  struct Target {
    int tensor;      // in the model's ParamLayout
    int in, out;
    int64_t a, b;    // offsets of A [r, in] and B [out, r] in params()
    std::vector<T> w0;  // the frozen base weight, once attached
  };

  LoraAdapters(const model::ParamLayout& layout, const LoraConfig& cfg);
  ~LoraAdapters();  // unhooks the model
  LoraAdapters(const LoraAdapters&) = delete;
  LoraAdapters& operator=(const LoraAdapters&) = delete;
  const LoraConfig& config() const { return cfg_; }
  // A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's default), B = 0. Deterministic for a seed.
  void init(uint64_t seed);

  // Freezes every weight of m, keeps the targeted base weights, hooks m's backward to
  // accumulate the adapters' gradients, and merges (W = W0 + s·B·A). m must outlive this.
  void attach(model::Transformer<T>& m);
  // W = W0 + s·B·A for each target (after the adapters change).
  void merge();
  // W = W0: the model computes the base alone (the reference of DPO and GRPO) until the
  // next merge().
  void unmerge();
  // Dropout on (training) or off. On, each forward draws fresh masks, seeded by the key
  // and the target (a micro-batch's forward and backward, reproducible on resume).
  void set_training(bool on, uint64_t key = 0);
  bool training() const { return training_; }
  uint64_t key() const { return key_; }

  const std::vector<model::TensorInfo>& tensors() const { return tensors_; }  // PEFT names
  const std::vector<Target>& targets() const { return targets_; }
  int64_t size() const { return int64_t(params_.size()); }
  T* params() { return params_.data(); }
  T* grads() { return grads_.data(); }
  void zero_grad() { std::fill(grads_.begin(), grads_.end(), T(0)); }

  // adapter_config.json and adapter_model.safetensors into dir (float adapters only).
  void save(const std::string& dir) const;
  // Reads them, checking the config matches and every tensor is present with its shape;
  // merges when attached.
  void load(const std::string& dir);

 private:
  void forward_hook(int tensor, const T* x, T* y, int rows);
  void backward_hook(int tensor, const T* x, const T* dy, T* dx, int rows);
  // dx [rows, in] = x ⊙ (m/(1-p) - 1): what dropout changes of the adapter's input.
  void dropout_delta(int k, const T* x, int rows);
  bool dropout_active() const { return training_ && cfg_.dropout > 0; }
  LoraConfig cfg_;
  std::vector<Target> targets_;
  std::vector<int> by_tensor_;  // model tensor -> index in targets_, or -1
  std::vector<model::TensorInfo> tensors_;
  std::vector<T> params_, grads_;
  std::vector<T> xa_, dyb_;  // scratch: x·Aᵀ and dy·B [rows, r]
  std::vector<T> xd_;        // scratch: d(x) or d(x) - x [rows, in]
  bool training_ = false;
  uint64_t key_ = 0;
  std::vector<std::vector<uint8_t>> masks_;  // the last training forward's mask of each target [rows, in]
  model::Transformer<T>* model_ = nullptr;
};

// The adapters as the training loop sees them (float).
class LoraTrainable : public Adapters {
 public:
  LoraTrainable(model::Transformer<float>& m, const LoraConfig& cfg, uint64_t seed);
  const std::vector<model::TensorInfo>& tensors() const override { return lora_.tensors(); }
  int64_t size() const override { return lora_.size(); }
  float* params() override { return lora_.params(); }
  float* grads() override { return lora_.grads(); }
  void zero_grad() override { lora_.zero_grad(); }
  void update_model() override { lora_.merge(); }
  void set_training(bool on, uint64_t key) override { lora_.set_training(on, key); }
  void save(const std::string& dir) const override { lora_.save(dir); }
  void load(const std::string& dir) override;
  LoraAdapters<float>& lora() { return lora_; }
  const std::vector<LoraAdapters<float>::Target>& targets() const { return lora_.targets(); }

 private:
  LoraAdapters<float> lora_;
};

// Reads an adapter folder's config (adapter_config.json), checking it is a LoRA adapter.
LoraConfig read_lora_config(const std::string& adapter_dir);

// Applies an adapter folder to a loaded model in place: W = W0 + s·B·A.
void apply_lora(model::Transformer<float>& m, const std::string& adapter_dir);

// slm lora merge: the base model folder with the adapter folded in, as a plain model
// folder (config.json, model.safetensors, tokenizer.json, the prompt template if either
// has one) written whole or not at all. Returns the number of adapted tensors.
int merge_lora(const std::string& base_dir, const std::string& adapter_dir, const std::string& out_dir);

}  // namespace slm::train
