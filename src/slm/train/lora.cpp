#include "slm/train/lora.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "slm/model/model_files.h"
#include "slm/model/safetensors.h"
#include "slm/tensor/gemm.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Our short names and Hugging Face Llama's module names, in the order PEFT lists them.
const std::vector<std::pair<std::string, std::string>> kModules = {
    {"q", "q_proj"}, {"k", "k_proj"}, {"v", "v_proj"}, {"o", "o_proj"},
    {"gate", "gate_proj"}, {"up", "up_proj"}, {"down", "down_proj"}};

std::string accepted_targets() { return "q, k, v, o, gate, up, down (or q_proj, k_proj, ...; or all)"; }

// The layer's tensor for a module name.
int module_tensor(const model::LayerIndex& L, const std::string& module) {
  if (module == "q_proj") return L.wq;
  if (module == "k_proj") return L.wk;
  if (module == "v_proj") return L.wv;
  if (module == "o_proj") return L.wo;
  if (module == "gate_proj") return L.w_gate;
  if (module == "up_proj") return L.w_up;
  return L.w_down;
}

// "model.layers.0.self_attn.q_proj.weight" -> "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
std::string peft_name(const std::string& weight_name, const char* which) {
  const std::string stem = weight_name.substr(0, weight_name.size() - std::string(".weight").size());
  return "base_model.model." + stem + "." + which + ".weight";
}

}  // namespace

std::vector<std::string> parse_lora_targets(const std::string& list, const std::string& where) {
  std::set<std::string> want;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = list.substr(start, end - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    start = end + 1;
    if (name.empty()) throw Error("an empty name in the list of LoRA targets: expected " + accepted_targets(), where);
    if (name == "all") {
      for (const auto& [s, hf] : kModules) want.insert(hf);
      continue;
    }
    auto it = std::find_if(kModules.begin(), kModules.end(),
                           [&](const auto& m) { return m.first == name || m.second == name; });
    if (it == kModules.end())
      throw Error("unknown LoRA target '" + name + "': expected " + accepted_targets(), where);
    want.insert(it->second);
  }
  std::vector<std::string> out;
  for (const auto& [s, hf] : kModules)
    if (want.count(hf)) out.push_back(hf);
  return out;
}

void LoraConfig::validate(const std::string& where) const {
  if (rank < 1) throw Error(fmt::format("the LoRA rank is {}: expected an integer of at least 1", rank), where + ".r");
  if (!std::isfinite(alpha) || alpha <= 0)
    throw Error(fmt::format("lora_alpha is {}: expected a number above 0", alpha), where + ".lora_alpha");
  if (!(dropout >= 0 && dropout < 1))
    throw Error(fmt::format("lora_dropout is {}: expected a probability in [0, 1)", dropout), where + ".lora_dropout");
  if (targets.empty()) throw Error("no LoRA target modules: expected some of " + accepted_targets(), where + ".target_modules");
  for (const auto& t : targets)
    if (std::none_of(kModules.begin(), kModules.end(), [&](const auto& m) { return m.second == t; }))
      throw Error("unknown target module '" + t + "': expected some of " + accepted_targets(), where + ".target_modules");
}

json LoraConfig::to_peft_json() const {
  // The fields of PEFT's LoraConfig that describe a plain LoRA adapter.
  return {{"peft_type", "LORA"},
          {"task_type", "CAUSAL_LM"},
          {"base_model_name_or_path", base},
          {"r", rank},
          {"lora_alpha", alpha},
          {"lora_dropout", dropout},
          {"target_modules", targets},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"inference_mode", true},
          {"init_lora_weights", true},
          {"use_rslora", false},
          {"use_dora", false},
          {"modules_to_save", nullptr},
          {"layers_to_transform", nullptr},
          {"layers_pattern", nullptr},
          {"rank_pattern", json::object()},
          {"alpha_pattern", json::object()},
          {"revision", nullptr}};
}

LoraConfig LoraConfig::from_peft_json(const json& j, const std::string& where) {
  LoraConfig c;
  try {
    if (j.value("peft_type", std::string()) != "LORA")
      throw Error("peft_type is " + (j.contains("peft_type") ? j["peft_type"].dump() : std::string("missing")) +
                      ": expected \"LORA\"",
                  where);
    for (const char* f : {"use_dora", "use_rslora"})
      if (j.value(f, false)) throw Error(std::string(f) + " is true: only plain LoRA is supported", where);
    if (!j.value("rank_pattern", json::object()).empty() || !j.value("alpha_pattern", json::object()).empty())
      throw Error("rank_pattern/alpha_pattern are set: only one rank and alpha for all modules is supported", where);
    // Settings under which PEFT's adapter computes something slm's LoRA does not: refused,
    // not ignored (other fields PEFT adds from version to version do not change the math).
    if (j.value("fan_in_fan_out", false)) throw Error("fan_in_fan_out is true: expected false (Llama's [out, in] weights)", where);
    if (j.value("bias", std::string("none")) != "none")
      throw Error("bias is " + j["bias"].dump() + ": expected \"none\" (slm's layers have no biases)", where);
    for (const char* f : {"modules_to_save", "layers_to_transform"})
      if (j.contains(f) && !j[f].is_null())
        throw Error(std::string(f) + " is " + j[f].dump() + ": expected null (every layer adapted, nothing else saved)", where);
    const json& r = j.at("r");
    if (!r.is_number_integer() || r.get<int64_t>() < 1 || r.get<int64_t>() > 65536)
      throw Error("r is " + r.dump() + ": expected an integer in [1, 65536]", where);
    c.rank = r.get<int>();
    if (!j.at("lora_alpha").is_number()) throw Error("lora_alpha is " + j["lora_alpha"].dump() + ": expected a number", where);
    c.alpha = j["lora_alpha"].get<double>();
    if (j.contains("lora_dropout")) {
      const json& p = j["lora_dropout"];
      if (!p.is_number() || !(p.get<double>() >= 0 && p.get<double>() < 1))
        throw Error("lora_dropout is " + p.dump() + ": expected a probability in [0, 1)", where);
      c.dropout = p.get<double>();
    }
    c.base = j.value("base_model_name_or_path", std::string());
    const json& t = j.at("target_modules");
    if (t.is_string()) throw Error("target_modules is a pattern: expected a list of module names", where);
    std::string list;
    for (const auto& m : t) {
      if (!list.empty()) list += ',';
      list += m.get<std::string>();
    }
    c.targets = parse_lora_targets(list, where + ": target_modules");
  } catch (const json::exception& e) {
    throw Error(std::string("bad adapter config: ") + e.what(), where);
  }
  c.validate(where);
  return c;
}

LoraConfig read_lora_config(const std::string& adapter_dir) {
  const std::string path = (fs::path(adapter_dir) / "adapter_config.json").string();
  if (!fs::exists(path)) throw Error("not a LoRA adapter folder (no adapter_config.json)", adapter_dir);
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw Error(std::string("not valid JSON: ") + e.what(), path);
  }
  return LoraConfig::from_peft_json(j, path);
}

// ------------------------------------------------------------------ the adapters

template <class T>
LoraAdapters<T>::LoraAdapters(const model::ParamLayout& layout, const LoraConfig& cfg)
    : cfg_(cfg), by_tensor_(layout.tensors.size(), -1) {
  cfg_.validate("lora");
  const int r = cfg_.rank;
  int64_t offset = 0;
  for (const auto& L : layout.layers)
    for (const auto& module : cfg_.targets) {
      const int ti = module_tensor(L, module);
      // A mixture-of-experts layer has no single gate/up/down matrix (model/moe.h).
      if (ti < 0)
        throw Error("LoRA target " + module + " is a mixture-of-experts layer's MLP here: adapt q, k, v, o only",
                    "--lora-targets");
      const auto& w = layout.tensors[size_t(ti)];  // [out, in]
      Target t{ti, int(w.shape[1]), int(w.shape[0]), 0, 0, {}};
      t.a = offset;
      t.b = offset + int64_t(r) * t.in;
      offset = t.b + int64_t(t.out) * r;
      by_tensor_[size_t(ti)] = int(targets_.size());
      tensors_.push_back({peft_name(w.name, "lora_A"), {r, t.in}, t.a, int64_t(r) * t.in, true});
      tensors_.push_back({peft_name(w.name, "lora_B"), {t.out, r}, t.b, int64_t(t.out) * r, true});
      targets_.push_back(std::move(t));
    }
  params_.assign(size_t(offset), T(0));
  grads_.assign(size_t(offset), T(0));
}

template <class T>
void LoraAdapters<T>::init(uint64_t seed) {
  Rng rng(seed);
  for (const auto& t : targets_) {
    const double bound = 1.0 / std::sqrt(double(t.in));  // kaiming_uniform_(a=sqrt(5)), as PEFT
    T* a = params_.data() + t.a;
    for (int64_t i = 0; i < int64_t(cfg_.rank) * t.in; ++i) a[i] = T(bound * (2 * rng.uniform() - 1));
    std::fill(params_.data() + t.b, params_.data() + t.b + int64_t(t.out) * cfg_.rank, T(0));
  }
}

template <class T>
void LoraAdapters<T>::attach(model::Transformer<T>& m) {
  model_ = &m;
  for (size_t i = 0; i < m.layout().tensors.size(); ++i) m.set_frozen(int(i), true);
  for (auto& t : targets_) {
    const T* w = m.param(t.tensor);
    t.w0.assign(w, w + int64_t(t.in) * t.out);
  }
  m.on_linear_forward = [this](int tensor, const T* x, T* y, int rows) { forward_hook(tensor, x, y, rows); };
  m.on_linear_backward = [this](int tensor, const T* x, const T* dy, T* dx, int rows) {
    backward_hook(tensor, x, dy, dx, rows);
  };
  merge();
}

template <class T>
void LoraAdapters<T>::unmerge() {
  for (const auto& t : targets_) std::copy(t.w0.begin(), t.w0.end(), model_->param(t.tensor));
}

template <class T>
void LoraAdapters<T>::set_training(bool on, uint64_t key) {
  training_ = on;
  key_ = key;
}

template <class T>
void LoraAdapters<T>::dropout_delta(int k, const T* x, int rows) {
  const Target& t = targets_[size_t(k)];
  const size_t n = size_t(rows) * size_t(t.in);
  const T keep = T(1 / (1 - cfg_.dropout));
  xd_.resize(n);
  const auto& m = masks_[size_t(k)];
  for (size_t i = 0; i < n; ++i) xd_[i] = x[i] * (m[i] ? keep - T(1) : T(-1));
}

template <class T>
void LoraAdapters<T>::forward_hook(int tensor, const T* x, T* y, int rows) {
  const int k = by_tensor_[size_t(tensor)];
  if (k < 0 || !dropout_active()) return;  // out of training the merged W is the whole layer
  const Target& t = targets_[size_t(k)];
  const int r = cfg_.rank;
  // This forward's mask: kept with probability 1 - p, each target its own (as PEFT's
  // separate Dropout modules), drawn from the micro-batch's key.
  masks_.resize(targets_.size());
  auto& m = masks_[size_t(k)];
  m.resize(size_t(rows) * size_t(t.in));
  Rng rng(key_ * 0x100000001B3ull + uint64_t(k) + 1);
  for (auto& v : m) v = rng.uniform() >= cfg_.dropout;
  // y += s · ((d(x) - x) · Aᵀ) · Bᵀ
  dropout_delta(k, x, rows);
  xa_.resize(size_t(rows) * r);
  tensor::gemm(false, true, rows, r, t.in, T(1), xd_.data(), t.in, params_.data() + t.a, t.in, T(0), xa_.data(), r);
  tensor::gemm(false, true, rows, t.out, r, T(cfg_.scale()), xa_.data(), r, params_.data() + t.b, r, T(1), y, t.out);
}

template <class T>
void LoraAdapters<T>::merge() {
  const int r = cfg_.rank;
  for (const auto& t : targets_) {
    T* w = model_->param(t.tensor);
    std::copy(t.w0.begin(), t.w0.end(), w);
    // W [out, in] += s · B [out, r] · A [r, in]
    tensor::gemm(false, false, t.out, t.in, r, T(cfg_.scale()), params_.data() + t.b, r, params_.data() + t.a, t.in,
                 T(1), w, t.in);
  }
}

template <class T>
void LoraAdapters<T>::backward_hook(int tensor, const T* x, const T* dy, T* dx, int rows) {
  const int k = by_tensor_[size_t(tensor)];
  if (k < 0) return;
  const Target& t = targets_[size_t(k)];
  const int r = cfg_.rank;
  const T s = T(cfg_.scale());
  const T* A = params_.data() + t.a;
  const T* B = params_.data() + t.b;
  xa_.resize(size_t(rows) * r);
  dyb_.resize(size_t(rows) * r);
  const bool dropout = dropout_active();
  if (dropout) {
    if (masks_.size() != targets_.size() || masks_[size_t(k)].size() != size_t(rows) * size_t(t.in))
      throw Error("LoRA dropout: a backward pass without its training forward", "lora");
    dropout_delta(k, x, rows);
    for (size_t i = 0; i < xd_.size(); ++i) xd_[i] += x[i];  // d(x): the adapter's input
    x = xd_.data();
  }
  // xa = x · Aᵀ [rows, r];  dB [out, r] += s · dyᵀ · xa
  tensor::gemm(false, true, rows, r, t.in, T(1), x, t.in, A, t.in, T(0), xa_.data(), r);
  tensor::gemm(true, false, t.out, r, rows, s, dy, t.out, xa_.data(), r, T(1), grads_.data() + t.b, r);
  // dyb = dy · B [rows, r];  dA [r, in] += s · dybᵀ · x
  tensor::gemm(false, false, rows, r, t.out, T(1), dy, t.out, B, r, T(0), dyb_.data(), r);
  tensor::gemm(true, false, r, t.in, rows, s, dyb_.data(), r, x, t.in, T(1), grads_.data() + t.a, t.in);
  if (!dropout) return;  // dx = dy·W already holds the adapter's share
  // dx += s · ((dy·B)·A) ⊙ (m/(1-p) - 1): the mask's change to the adapter's share in dy·W.
  xd_.resize(size_t(rows) * size_t(t.in));
  tensor::gemm(false, false, rows, t.in, r, T(1), dyb_.data(), r, A, t.in, T(0), xd_.data(), t.in);
  const T keep = T(1 / (1 - cfg_.dropout));
  const auto& m = masks_[size_t(k)];
  for (size_t i = 0; i < xd_.size(); ++i) dx[i] += s * xd_[i] * (m[i] ? keep - T(1) : T(-1));
}

template <class T>
void LoraAdapters<T>::save(const std::string& dir) const {
  write_file_atomic((fs::path(dir) / "adapter_config.json").string(), cfg_.to_peft_json().dump(2) + "\n");
  const std::vector<float> values(params_.begin(), params_.end());
  std::vector<model::NamedTensor> named;
  for (const auto& t : tensors_) named.push_back({t.name, t.shape, values.data() + t.offset});
  model::write_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), named, {{"format", "pt"}});
}

template <class T>
void LoraAdapters<T>::load(const std::string& dir) {
  const LoraConfig have = read_lora_config(dir);
  const std::string cfg_path = (fs::path(dir) / "adapter_config.json").string();
  if (have.rank != cfg_.rank || have.alpha != cfg_.alpha || have.targets != cfg_.targets ||
      have.dropout != cfg_.dropout)
    throw Error(fmt::format("the adapter has r={} lora_alpha={} target_modules={} lora_dropout={}, this run's are r={} "
                            "lora_alpha={} target_modules={} lora_dropout={}",
                            have.rank, have.alpha, json(have.targets).dump(), have.dropout, cfg_.rank, cfg_.alpha,
                            json(cfg_.targets).dump(), cfg_.dropout),
                cfg_path);
  const std::string path = (fs::path(dir) / "adapter_model.safetensors").string();
  auto loaded = model::read_safetensors(path);
  for (const auto& t : tensors_) {
    auto it = loaded.find(t.name);
    if (it == loaded.end()) throw Error("missing tensor '" + t.name + "' (an adapter for another model?)", path);
    if (it->second.shape != t.shape)
      throw Error(fmt::format("tensor '{}' has shape {}, the model needs {}", t.name, json(it->second.shape).dump(),
                              json(t.shape).dump()),
                  path);
    std::copy(it->second.data.begin(), it->second.data.end(), params_.begin() + t.offset);
  }
  if (model_) merge();
}

template <class T>
LoraAdapters<T>::~LoraAdapters() {
  if (model_) model_->on_linear_forward = nullptr, model_->on_linear_backward = nullptr;  // the hooks point here
}

template class LoraAdapters<float>;
template class LoraAdapters<double>;

// ------------------------------------------------------------------ training and merging

LoraTrainable::LoraTrainable(model::Transformer<float>& m, const LoraConfig& cfg, uint64_t seed)
    : lora_(m.layout(), cfg) {
  lora_.init(seed);
  lora_.attach(m);
}

void LoraTrainable::load(const std::string& dir) { lora_.load(dir); }

void apply_lora(model::Transformer<float>& m, const std::string& adapter_dir) {
  LoraAdapters<float> lora(m.layout(), read_lora_config(adapter_dir));
  lora.load(adapter_dir);
  const int r = lora.config().rank;
  for (const auto& t : lora.targets())
    tensor::gemm(false, false, t.out, t.in, r, float(lora.config().scale()), lora.params() + t.b, r,
                 lora.params() + t.a, t.in, 1.f, m.param(t.tensor), t.in);
}

int merge_lora(const std::string& base_dir, const std::string& adapter_dir, const std::string& out_dir) {
  const LoraConfig cfg = read_lora_config(adapter_dir);  // before the base: a wrong folder fails at once
  auto loaded = model::load_model_and_tokenizer(base_dir);
  apply_lora(*loaded.model, adapter_dir);
  AtomicDir out(out_dir);
  model::save_model_files(out.path(), *loaded.model);
  write_file_atomic(out.file("tokenizer.json"), loaded.tok->to_json());
  const bool templated =
      loaded.alpaca_template || (fs::is_directory(adapter_dir) && tokenizer::has_alpaca_template(adapter_dir));
  if (templated) tokenizer::write_template_file(out.path());
  out.commit();
  return int(cfg.targets.size() * loaded.model->layout().layers.size());
}

}  // namespace slm::train
