#include "slm/export/gguf_writer.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

#include "slm/tokenizer/chat_template.h"
#include "slm/model/model_files.h"
#include "slm/model/gguf.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::exporter {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace slm::model;

namespace {

// The metadata section, written as it is built.
class Meta {
 public:
  void str(const std::string& key, const std::string& v) { head(key, kString), s(v), ++n; }
  void u32(const std::string& key, uint32_t v) { head(key, kU32), put(v), ++n; }
  void f32(const std::string& key, float v) { head(key, kF32), put(v), ++n; }
  void boolean(const std::string& key, bool v) { head(key, kBool), put(uint8_t(v)), ++n; }
  void strings(const std::string& key, const std::vector<std::string>& v) {
    head(key, kArray), put(uint32_t(kString)), put(uint64_t(v.size()));
    for (const auto& x : v) s(x);
    ++n;
  }
  void i32s(const std::string& key, const std::vector<int32_t>& v) {
    head(key, kArray), put(uint32_t(kI32)), put(uint64_t(v.size()));
    for (auto x : v) put(x);
    ++n;
  }
  std::string bytes;
  uint64_t n = 0;

 private:
  template <class T>
  void put(T v) { bytes.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void s(const std::string& v) { put(uint64_t(v.size())), bytes += v; }
  void head(const std::string& key, uint32_t type) { s(key), put(type); }
};

struct Tensor {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type;
  std::string data;
};

std::string encode(const std::vector<float>& w, uint32_t type) {
  std::string out;
  if (type == kGgmlF32) {
    out.assign(reinterpret_cast<const char*>(w.data()), w.size() * 4);
  } else if (type == kGgmlF16) {
    out.resize(w.size() * 2);
    for (size_t i = 0; i < w.size(); ++i) {
      uint16_t h = f32_to_f16(w[i]);
      std::memcpy(&out[2 * i], &h, 2);
    }
  } else {  // Q8_0 as ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d)
    for (size_t b = 0; b < w.size() / kQ8Block; ++b) {
      const float* x = w.data() + b * kQ8Block;
      float amax = 0;
      for (int i = 0; i < kQ8Block; ++i) amax = std::max(amax, std::fabs(x[i]));
      const float d = amax / 127.f, id = d ? 1.f / d : 0.f;
      uint16_t h = f32_to_f16(d);
      out.append(reinterpret_cast<const char*>(&h), 2);
      for (int i = 0; i < kQ8Block; ++i) out.push_back(char(int8_t(std::lround(x[i] * id))));
    }
  }
  return out;
}

// Token strings in id order, and the merges, from tokenizer.json.
void vocabulary(const tokenizer::Tokenizer& tok, std::vector<std::string>& tokens, std::vector<int32_t>& types,
                std::vector<std::string>& merges) {
  json j = json::parse(tok.to_json());
  tokens.assign(tok.vocab_size(), "");
  types.assign(tok.vocab_size(), 1);  // 1: normal
  for (const auto& [t, id] : j["model"]["vocab"].items()) tokens.at(id.get<size_t>()) = t;
  for (const auto& a : j["added_tokens"]) {
    tokens.at(a["id"].get<size_t>()) = a["content"];
    types.at(a["id"].get<size_t>()) = 3;  // 3: control
  }
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i].empty()) throw Error(fmt::format("token id {} has no string", i), "tokenizer.json");
  for (const auto& m : j["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
}

}  // namespace

size_t export_gguf(const std::string& model_dir, const std::string& out, const GgufExportOptions& opt) {
  const uint32_t wtype = opt.type == "f32"    ? uint32_t(kGgmlF32)
                         : opt.type == "f16"  ? uint32_t(kGgmlF16)
                         : opt.type == "q8_0" ? uint32_t(kGgmlQ8_0)
                                              : 99u;
  if (wtype == 99) throw Error("unknown type '" + opt.type + "' (f32, f16 or q8_0)", "--type");
  auto l = load_model_and_tokenizer(model_dir);
  const ModelConfig& c = l.model->config();
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
  vocabulary(*l.tok, tokens, types, merges);

  Meta m;
  m.str("general.architecture", "llama");
  m.str("general.name", opt.name.empty() ? fs::path(model_dir).lexically_normal().filename().string() : opt.name);
  m.u32("general.file_type", wtype == kGgmlF32 ? 0 : wtype == kGgmlF16 ? 1 : 7);  // ALL_F32, MOSTLY_F16, MOSTLY_Q8_0
  m.u32("general.quantization_version", 2);
  m.u32("llama.context_length", uint32_t(c.context));
  m.u32("llama.embedding_length", uint32_t(c.dim));
  m.u32("llama.block_count", uint32_t(c.n_layers));
  if (auto why = mixtral_incompatibility(c); !why.empty())
    throw Error("llama.cpp's llama architecture cannot run this mixture of experts: " + why, model_dir);
  m.u32("llama.feed_forward_length", uint32_t(c.is_moe() ? c.expert_dim() : c.hidden_dim));
  if (c.is_moe()) {
    m.u32("llama.expert_count", uint32_t(c.n_experts));
    m.u32("llama.expert_used_count", uint32_t(c.experts_per_token));
  }
  m.u32("llama.rope.dimension_count", uint32_t(c.head_dim()));
  m.u32("llama.attention.head_count", uint32_t(c.n_heads));
  m.u32("llama.attention.head_count_kv", uint32_t(c.n_kv_heads));
  m.f32("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  m.f32("llama.rope.freq_base", c.rope_theta);
  m.u32("llama.vocab_size", uint32_t(c.vocab_size));
  m.str("tokenizer.ggml.model", "gpt2");
  m.str("tokenizer.ggml.pre", "gpt-2");
  m.strings("tokenizer.ggml.tokens", tokens);
  m.i32s("tokenizer.ggml.token_type", types);
  m.strings("tokenizer.ggml.merges", merges);
  m.u32("tokenizer.ggml.bos_token_id", l.tok->eot());  // no BOS in slm's models: documents follow <|endoftext|>
  m.u32("tokenizer.ggml.eos_token_id", l.tok->eot());
  m.u32("tokenizer.ggml.padding_token_id", l.tok->eot());
  m.boolean("tokenizer.ggml.add_bos_token", false);
  if (l.alpaca_template)
    m.str("tokenizer.chat_template", tokenizer::alpaca_jinja_template());

  // Tensors in llama.cpp's order: embeddings, each block, final norm, output.
  std::vector<Tensor> ts;
  const auto& L = l.model->layout();
  std::map<std::string, std::vector<float>> stacked;  // each layer's experts as 3-D tensors
  std::map<std::string, std::vector<int64_t>> stacked_shape;
  for (const auto& t : L.tensors) {
    std::vector<float> w(l.model->params() + t.offset, l.model->params() + t.offset + t.size);
    if (auto slice = gguf_expert_slice(t.name); slice.expert >= 0) {  // experts come in order 0, 1, ...
      stacked[slice.name].insert(stacked[slice.name].end(), w.begin(), w.end());
      stacked_shape[slice.name] = {c.n_experts, t.shape[0], t.shape[1]};
      continue;
    }
    const int cols = t.shape.size() > 1 ? int(t.shape[1]) : 1;
    if (t.name.find("q_proj") != std::string::npos) permute_rotary_rows(w.data(), c.n_heads, c.head_dim(), cols, true);
    if (t.name.find("k_proj") != std::string::npos) permute_rotary_rows(w.data(), c.n_kv_heads, c.head_dim(), cols, true);
    uint32_t type = t.shape.size() == 1 ? uint32_t(kGgmlF32) : wtype;
    if (type == kGgmlQ8_0 && t.shape.back() % kQ8Block) type = kGgmlF16;  // rows must be whole blocks
    ts.push_back({gguf_name(t.name), std::vector<uint64_t>(t.shape.rbegin(), t.shape.rend()), type, encode(w, type)});
  }
  for (const auto& [name, w] : stacked) {
    const auto& shape = stacked_shape[name];
    uint32_t type = wtype == kGgmlQ8_0 && shape.back() % kQ8Block ? uint32_t(kGgmlF16) : wtype;
    ts.push_back({name, std::vector<uint64_t>(shape.rbegin(), shape.rend()), type, encode(w, type)});
  }
  auto rank = [](const std::string& n) {
    if (n == "token_embd.weight") return std::make_pair(-1, 0);
    if (n == "output_norm.weight") return std::make_pair(1 << 20, 0);
    if (n == "output.weight") return std::make_pair(1 << 21, 0);
    return std::make_pair(std::stoi(n.substr(4)), 0);
  };
  std::stable_sort(ts.begin(), ts.end(), [&](const Tensor& a, const Tensor& b) { return rank(a.name) < rank(b.name); });

  const uint64_t align = 32;
  AtomicFile f(out);
  auto put32 = [&](uint32_t v) { f.write(&v, 4); };
  auto put64 = [&](uint64_t v) { f.write(&v, 8); };
  put32(kGgufMagic);
  put32(3);
  put64(ts.size());
  put64(m.n);
  f.write(m.bytes);
  uint64_t offset = 0;
  for (const auto& t : ts) {
    put64(t.name.size());
    f.write(t.name);
    put32(uint32_t(t.ne.size()));
    for (auto d : t.ne) put64(d);
    put32(t.type);
    put64(offset);
    offset += (t.data.size() + align - 1) / align * align;
  }
  auto pad = [&] {
    static const char zeros[64] = {};
    f.write(zeros, (align - f.bytes_written() % align) % align);
  };
  pad();
  for (const auto& t : ts) {
    f.write(t.data);
    pad();
  }
  size_t n = f.bytes_written();
  f.commit();
  return n;
}

}  // namespace slm::exporter
