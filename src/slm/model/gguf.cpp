#include "slm/model/gguf.h"

#include <algorithm>
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slm/model/params.h"
#include "slm/util/error.h"
#include "slm/util/text.h"

namespace slm::model {

using nlohmann::json;

namespace {

// A bounds-checked cursor over the file. Every length is compared with the bytes left,
// so a count near 2^64 cannot wrap the check.
struct Reader {
  const unsigned char* p;
  size_t size, pos = 0;
  std::string path;
  size_t left() const { return size - pos; }
  void need(uint64_t n, const std::string& what) {
    if (n > left()) throw Error(fmt::format("the file ends inside {} (at byte {})", what, pos), path);
  }
  template <class T>
  T get(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str(const std::string& what) {
    const uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p + pos), n);
    pos += n;
    return s;
  }
};

// GGUF allows arrays of arrays; no real file nests them deeper than this, and a
// recursive reader must not follow a crafted file's nesting down the stack.
constexpr int kMaxArrayDepth = 8;

json read_value(Reader& r, uint32_t type, const std::string& key, int depth = 0) {
  const std::string what = "metadata '" + key + "'";
  switch (type) {
    case kU8: return r.get<uint8_t>(what);
    case kI8: return r.get<int8_t>(what);
    case kU16: return r.get<uint16_t>(what);
    case kI16: return r.get<int16_t>(what);
    case kU32: return r.get<uint32_t>(what);
    case kI32: return r.get<int32_t>(what);
    case kF32: return r.get<float>(what);
    case kBool: return r.get<uint8_t>(what) != 0;
    case kString: return r.str(what);
    case kU64: return r.get<uint64_t>(what);
    case kI64: return r.get<int64_t>(what);
    case kF64: return r.get<double>(what);
    case kArray: {
      if (depth >= kMaxArrayDepth)
        throw Error(fmt::format("metadata '{}' nests arrays deeper than {}", key, kMaxArrayDepth), r.path);
      const uint32_t et = r.get<uint32_t>(what);
      const uint64_t n = r.get<uint64_t>(what);
      // Every element takes at least one byte of the file.
      if (n > r.left()) throw Error("metadata '" + key + "' claims more elements than the file has bytes", r.path);
      json a = json::array();
      for (uint64_t i = 0; i < n; ++i) a.push_back(read_value(r, et, key, depth + 1));
      return a;
    }
  }
  throw Error(fmt::format("metadata '{}' has unknown value type {}", key, type), r.path);
}

void read_metadata(Reader& r, uint64_t n_kv, GgufFile& g) {
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.str("a metadata key");
    const uint32_t type = r.get<uint32_t>("metadata '" + key + "'");
    if (g.meta.count(key)) throw Error("metadata '" + key + "' appears twice", r.path);
    g.meta[key] = read_value(r, type, key);
    g.meta_type[key] = type;
  }
  if (auto it = g.meta.find("general.alignment"); it != g.meta.end()) {
    if (!it->second.is_number_unsigned() || it->second.get<uint64_t>() > (1u << 30))
      throw Error("general.alignment must be an unsigned integer", r.path);
    g.alignment = it->second.get<uint32_t>();
  }
  if (g.alignment == 0 || (g.alignment & (g.alignment - 1)))
    throw Error(fmt::format("general.alignment {} is not a power of two", g.alignment), r.path);
}

// Elements of a tensor, refusing dims whose product is over 2^60, so that its size in
// bytes (at most 4 per element) cannot wrap 64 bits.
constexpr uint64_t kMaxElements = uint64_t(1) << 60;

uint64_t element_count(const GgufTensorInfo& t, const std::string& path) {
  uint64_t n = 1;
  for (auto d : t.ne) {
    if (d == 0 || d > kMaxElements / n)
      throw Error(fmt::format("tensor '{}' has dims [{}]: zero or too large", t.name, fmt::join(t.ne, ", ")), path);
    n *= d;
  }
  return n;
}

void read_tensor_infos(Reader& r, uint64_t n_tensors, GgufFile& g) {
  std::map<std::string, bool> seen;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.str("a tensor name");
    const std::string what = "tensor '" + t.name + "'";
    if (seen[t.name]) throw Error(what + " appears twice", r.path);
    seen[t.name] = true;
    const uint32_t nd = r.get<uint32_t>(what);
    if (nd == 0 || nd > 4) throw Error(fmt::format("{} has {} dimensions", what, nd), r.path);
    for (uint32_t d = 0; d < nd; ++d) t.ne.push_back(r.get<uint64_t>(what));
    element_count(t, r.path);
    t.type = r.get<uint32_t>(what);
    t.offset = r.get<uint64_t>(what);
    g.tensors.push_back(t);
  }
}

}  // namespace

GgufFile read_gguf(const std::string& path) {
  GgufFile g;
  g.file = std::make_unique<MappedFile>(path);
  Reader r{g.file->data(), g.file->size(), 0, path};
  if (r.get<uint32_t>("the magic") != kGgufMagic) throw Error("not a GGUF file (the magic is not \"GGUF\")", path);
  g.version = r.get<uint32_t>("the version");
  if (g.version < 2 || g.version > 3)
    throw Error(fmt::format("GGUF version {} (slm reads versions 2 and 3)", g.version), path);
  const uint64_t n_tensors = r.get<uint64_t>("the header"), n_kv = r.get<uint64_t>("the header");
  read_metadata(r, n_kv, g);
  read_tensor_infos(r, n_tensors, g);
  g.data_offset = (r.pos + g.alignment - 1) / g.alignment * g.alignment;
  return g;
}

std::vector<float> gguf_tensor_f32(const GgufFile& g, const GgufTensorInfo& t) {
  const std::string& path = g.file->path();
  const uint64_t n = element_count(t, path);
  if (t.type != kGgmlF32 && t.type != kGgmlF16 && t.type != kGgmlQ8_0)
    throw Error(fmt::format("tensor '{}' has ggml type {}; slm reads F32 (0), F16 (1) and Q8_0 (8)", t.name, t.type), path);
  if (t.type == kGgmlQ8_0 && t.ne[0] % kQ8Block)
    throw Error(fmt::format("tensor '{}': Q8_0 rows of {} values are not whole blocks of 32", t.name, t.ne[0]), path);
  // n <= 2^60, so none of these products wraps.
  const uint64_t bytes = t.type == kGgmlF32 ? n * 4 : t.type == kGgmlF16 ? n * 2 : n / kQ8Block * 34;
  const uint64_t size = g.file->size();
  if (g.data_offset > size || t.offset > size - g.data_offset || bytes > size - g.data_offset - t.offset)
    throw Error(fmt::format("tensor '{}' runs past the end of the file", t.name), path);
  const unsigned char* p = g.file->data() + g.data_offset + t.offset;
  std::vector<float> out(n);
  if (t.type == kGgmlF32) {
    std::memcpy(out.data(), p, n * 4);
  } else if (t.type == kGgmlF16) {
    for (uint64_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = f16_to_f32(h);
    }
  } else {
    for (uint64_t b = 0; b < n / kQ8Block; ++b) {
      uint16_t h;
      std::memcpy(&h, p + 34 * b, 2);
      const float d = f16_to_f32(h);
      const int8_t* q = reinterpret_cast<const int8_t*>(p + 34 * b + 2);
      for (int i = 0; i < kQ8Block; ++i) out[b * kQ8Block + uint64_t(i)] = d * float(q[i]);
    }
  }
  return out;
}

std::string gguf_name(const std::string& hf) {
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string pre = "model.layers.";
  if (hf.rfind(pre, 0) != 0) return "";
  size_t dot = hf.find('.', pre.size());
  std::string n = hf.substr(pre.size(), dot - pre.size()), rest = hf.substr(dot + 1);
  static const std::map<std::string, std::string> names = {
      {"input_layernorm.weight", "attn_norm.weight"},  {"self_attn.q_proj.weight", "attn_q.weight"},
      {"self_attn.k_proj.weight", "attn_k.weight"},    {"self_attn.v_proj.weight", "attn_v.weight"},
      {"self_attn.o_proj.weight", "attn_output.weight"}, {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},     {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"},     {"block_sparse_moe.gate.weight", "ffn_gate_inp.weight"}};
  auto it = names.find(rest);
  return it == names.end() ? "" : "blk." + n + "." + it->second;
}

GgufExpertSlice gguf_expert_slice(const std::string& hf) {
  const std::string pre = "model.layers.", mid = ".block_sparse_moe.experts.";
  const size_t at = hf.find(mid);
  if (hf.rfind(pre, 0) != 0 || at == std::string::npos) return {};
  const std::string layer = hf.substr(pre.size(), at - pre.size());
  const size_t e0 = at + mid.size(), dot = hf.find('.', e0);
  if (dot == std::string::npos) return {};
  static const std::map<std::string, std::string> names = {
      {"w1.weight", "ffn_gate_exps.weight"}, {"w2.weight", "ffn_down_exps.weight"}, {"w3.weight", "ffn_up_exps.weight"}};
  auto it = names.find(hf.substr(dot + 1));
  if (it == names.end()) return {};
  return {"blk." + layer + "." + it->second, std::stoi(hf.substr(e0, dot - e0))};
}

void permute_rotary_rows(float* w, int n_head, int head_dim, int cols, bool to_gguf) {
  // HF row h*hd + i*(hd/2) + j  <->  llama.cpp row h*hd + 2*j + i   (i in {0, 1})
  std::vector<float> src(w, w + size_t(n_head) * head_dim * cols);
  const int half = head_dim / 2;
  for (int h = 0; h < n_head; ++h)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < half; ++j) {
        size_t hf = size_t(h) * head_dim + size_t(i) * half + j, gg = size_t(h) * head_dim + 2 * size_t(j) + i;
        size_t from = to_gguf ? hf : gg, to = to_gguf ? gg : hf;
        std::memcpy(w + to * cols, src.data() + from * cols, sizeof(float) * size_t(cols));
      }
}

namespace {

// Typed metadata: a missing key or a value of the wrong type is an error naming the key,
// never a JSON type error.
const json& meta(const GgufFile& g, const std::string& key) {
  auto it = g.meta.find(key);
  if (it == g.meta.end()) throw Error("missing metadata '" + key + "'", g.file->path());
  return it->second;
}

// A size: an integer from 1 to 2^31 - 1 (ModelConfig's fields are int).
int meta_int(const GgufFile& g, const std::string& key) {
  const json& v = meta(g, key);
  // Values of 2^63 and above read as negative here, so one range check covers them.
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > INT32_MAX)
    throw Error("metadata '" + key + "' must be an integer from 1 to 2^31 - 1", g.file->path());
  return int(v.get<int64_t>());
}

float meta_float(const GgufFile& g, const std::string& key, float fallback) {
  if (!g.meta.count(key)) return fallback;
  const json& v = meta(g, key);
  if (!v.is_number() || !(std::abs(v.get<double>()) <= FLT_MAX))  // a double beyond float's range: UB to convert
    throw Error("metadata '" + key + "' must be a finite number", g.file->path());
  return v.get<float>();
}

// fallback: the value when the key is absent; without one the key is required.
std::string meta_string(const GgufFile& g, const std::string& key, const char* fallback = nullptr) {
  if (fallback && !g.meta.count(key)) return fallback;
  const json& v = meta(g, key);
  if (!v.is_string()) throw Error("metadata '" + key + "' must be a string", g.file->path());
  return v.get<std::string>();
}

const json& meta_array(const GgufFile& g, const std::string& key, bool (json::*elem_ok)() const noexcept,
                       const char* elem) {
  const json& v = meta(g, key);
  if (!v.is_array()) throw Error("metadata '" + key + "' must be an array", g.file->path());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!(v[i].*elem_ok)()) throw Error("metadata '" + key + "' must hold " + elem, g.file->path());
    // Strings become tokenizer.json, which must be UTF-8 (GGUF's strings are, by its spec).
    if (v[i].is_string() && utf8_invalid_at(v[i].get_ref<const std::string&>()) != std::string_view::npos)
      throw Error(fmt::format("metadata '{}' [{}] is not valid UTF-8", key, i), g.file->path());
  }
  return v;
}

// tokenizer.json (Hugging Face's format) from the GGUF vocabulary of a byte-level BPE.
std::string tokenizer_from_gguf(const GgufFile& g) {
  const std::string model = meta_string(g, "tokenizer.ggml.model");
  if (model != "gpt2")
    throw Error("tokenizer.ggml.model is '" + model +
                    "': slm runs byte-level BPE vocabularies ('gpt2'); SentencePiece ('llama') vocabularies are not "
                    "supported yet",
                g.file->path());
  const std::string pre = meta_string(g, "tokenizer.ggml.pre", "default");
  if (pre != "gpt-2" && pre != "default")
    throw Error("tokenizer.ggml.pre is '" + pre + "': slm's pre-tokenizer is GPT-2's split ('gpt-2')", g.file->path());
  const json& tokens = meta_array(g, "tokenizer.ggml.tokens", &json::is_string, "strings");
  const json& merges = meta_array(g, "tokenizer.ggml.merges", &json::is_string, "strings");
  const json types = g.meta.count("tokenizer.ggml.token_type")
                         ? meta_array(g, "tokenizer.ggml.token_type", &json::is_number_integer, "integers")
                         : json::array();
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string t = tokens[i];
    if (types.size() > i && types[i].get<int64_t>() == 3)  // control: a special token
      added.push_back({{"id", i}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", true}});
    else
      vocab[t] = i;
  }
  json tj = {{"version", "1.0"},
             {"added_tokens", added},
             {"normalizer", nullptr},
             {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
             {"post_processor", nullptr},
             {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
             {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                        {"vocab", vocab}, {"merges", merges}}}};
  return tj.dump();
}

ModelConfig gguf_config(const GgufFile& g, const std::string& path) {
  const std::string arch = meta_string(g, "general.architecture", "");
  if (arch != "llama") throw Error("general.architecture is '" + arch + "': slm runs the 'llama' architecture", path);
  ModelConfig c;
  c.dim = meta_int(g, "llama.embedding_length");
  c.n_layers = meta_int(g, "llama.block_count");
  c.n_heads = meta_int(g, "llama.attention.head_count");
  c.n_kv_heads = g.meta.count("llama.attention.head_count_kv") ? meta_int(g, "llama.attention.head_count_kv") : c.n_heads;
  c.hidden_dim = meta_int(g, "llama.feed_forward_length");
  c.context = meta_int(g, "llama.context_length");
  c.rope_theta = meta_float(g, "llama.rope.freq_base", c.rope_theta);
  c.norm_eps = meta_float(g, "llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  c.vocab_size = g.meta.count("llama.vocab_size") ? meta_int(g, "llama.vocab_size")
                                                  : int(std::min<size_t>(meta(g, "tokenizer.ggml.tokens").size(), INT32_MAX));
  c.tie_embeddings = std::none_of(g.tensors.begin(), g.tensors.end(), [](const auto& t) { return t.name == "output.weight"; });
  if (g.meta.count("llama.expert_count") && meta_int(g, "llama.expert_count") > 0) {
    // llama.cpp's llama arch with experts (Mixtral): every layer, softmax then top-k
    // renormalised, i.e. the softmax over the chosen logits.
    c.n_experts = meta_int(g, "llama.expert_count");
    c.experts_per_token = meta_int(g, "llama.expert_used_count");
    c.router = "topk_softmax";
  }
  c.validate(path);
  // The parameters the config implies must be in the file (at least one byte each, Q8_0
  // taking the least) before a model of that size is allocated.
  const double C = c.dim, F = c.hidden_dim, V = c.vocab_size, KV = double(c.kv_dim());
  const double mlp = c.is_moe() ? c.n_experts * (3 * C * F + C) : 3 * C * F;
  const double params = V * C * (c.tie_embeddings ? 1 : 2) + C + c.n_layers * (2 * C + 2 * C * C + 2 * C * KV + mlp);
  if (params > double(g.file->size()))
    throw Error(fmt::format("the metadata describes a model of {:.3g} parameters, more than the file's {} bytes hold",
                            params, g.file->size()),
                path);
  return c;
}

}  // namespace

GgufModel load_gguf_model(const std::string& path) {
  GgufFile g = read_gguf(path);
  const ModelConfig c = gguf_config(g, path);
  std::map<std::string, const GgufTensorInfo*> by_name;
  for (const auto& t : g.tensors) by_name[t.name] = &t;
  GgufModel out;
  out.tokenizer_json = tokenizer_from_gguf(g);
  if (g.meta.count("tokenizer.chat_template") && g.meta["tokenizer.chat_template"].is_string())
    out.chat_template = g.meta["tokenizer.chat_template"];
  out.model = std::make_unique<Transformer<float>>(c);
  auto& m = *out.model;
  std::map<std::string, std::vector<float>> stacked;  // the experts' 3-D tensors, read once
  for (const auto& t : m.layout().tensors) {
    const GgufExpertSlice slice = gguf_expert_slice(t.name);
    const std::string gn = slice.expert >= 0 ? slice.name : gguf_name(t.name);
    auto it = by_name.find(gn);
    if (it == by_name.end()) throw Error("missing tensor '" + gn + "' (" + t.name + ")", path);
    const auto& info = *it->second;
    std::vector<uint64_t> want(t.shape.rbegin(), t.shape.rend());
    if (slice.expert >= 0) {
      want.push_back(uint64_t(c.n_experts));
      if (info.ne != want)
        throw Error(fmt::format("tensor '{}' has dims [{}], the config says [{}]", gn, fmt::join(info.ne, ", "),
                                fmt::join(want, ", ")),
                    path);
      auto& all = stacked[gn];
      if (all.empty()) all = gguf_tensor_f32(g, info);
      std::copy_n(all.begin() + long(slice.expert * t.size), t.size, m.params() + t.offset);
      continue;
    }
    if (info.ne != want)
      throw Error(fmt::format("tensor '{}' has dims [{}], the config says [{}]", gn, fmt::join(info.ne, ", "),
                              fmt::join(want, ", ")),
                  path);
    auto data = gguf_tensor_f32(g, info);
    const int cols = t.shape.size() > 1 ? int(t.shape[1]) : 1;
    if (t.name.find("q_proj") != std::string::npos) permute_rotary_rows(data.data(), c.n_heads, c.head_dim(), cols, false);
    if (t.name.find("k_proj") != std::string::npos) permute_rotary_rows(data.data(), c.n_kv_heads, c.head_dim(), cols, false);
    std::copy(data.begin(), data.end(), m.params() + t.offset);
  }
  return out;
}

}  // namespace slm::model
