#include "slm/model/gguf.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slm/model/params.h"
#include "slm/util/error.h"

namespace slm::model {

using nlohmann::json;

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  const int32_t exp = int32_t((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return uint16_t(sign | 0x7c00 | (mant ? 0x200 : 0));  // inf, nan
  if (exp >= 31) return uint16_t(sign | 0x7c00);                                          // overflow: inf
  if (exp <= 0) {                                                                          // subnormal or zero
    if (exp < -10) return uint16_t(sign);
    mant |= 0x800000;
    const int shift = 14 - exp;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = (uint32_t(exp) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) ++h;  // may carry into the exponent: still right
  return uint16_t(sign | h);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int e = -1;
      uint32_t m = mant;
      do ++e, m <<= 1; while (!(m & 0x400));
      x = sign | uint32_t(127 - 15 - e) << 23 | (m & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000 | mant << 13;
  } else {
    x = sign | (exp - 15 + 127) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

namespace {

// A bounds-checked cursor over the file.
struct Reader {
  const unsigned char* p;
  size_t size, pos = 0;
  std::string path;
  void need(size_t n, const char* what) {
    if (pos + n > size) throw Error(fmt::format("the file ends inside {} (at byte {})", what, pos), path);
  }
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string str(const char* what) {
    uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p + pos), n);
    pos += n;
    return s;
  }
};

json read_value(Reader& r, uint32_t type, const std::string& key) {
  switch (type) {
    case kU8: return r.get<uint8_t>(key.c_str());
    case kI8: return r.get<int8_t>(key.c_str());
    case kU16: return r.get<uint16_t>(key.c_str());
    case kI16: return r.get<int16_t>(key.c_str());
    case kU32: return r.get<uint32_t>(key.c_str());
    case kI32: return r.get<int32_t>(key.c_str());
    case kF32: return r.get<float>(key.c_str());
    case kBool: return r.get<uint8_t>(key.c_str()) != 0;
    case kString: return r.str(key.c_str());
    case kU64: return r.get<uint64_t>(key.c_str());
    case kI64: return r.get<int64_t>(key.c_str());
    case kF64: return r.get<double>(key.c_str());
    case kArray: {
      uint32_t et = r.get<uint32_t>(key.c_str());
      uint64_t n = r.get<uint64_t>(key.c_str());
      if (n > r.size) throw Error("array '" + key + "' claims more elements than the file has bytes", r.path);
      json a = json::array();
      for (uint64_t i = 0; i < n; ++i) a.push_back(read_value(r, et, key));
      return a;
    }
  }
  throw Error(fmt::format("metadata '{}' has unknown value type {}", key, type), r.path);
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
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.str("a metadata key");
    uint32_t type = r.get<uint32_t>(key.c_str());
    g.meta_type[key] = type;
    g.meta[key] = read_value(r, type, key);
  }
  if (g.meta.count("general.alignment")) g.alignment = g.meta["general.alignment"].get<uint32_t>();
  if (g.alignment == 0 || (g.alignment & (g.alignment - 1)))
    throw Error(fmt::format("general.alignment {} is not a power of two", g.alignment), path);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    t.name = r.str("a tensor name");
    uint32_t nd = r.get<uint32_t>(t.name.c_str());
    if (nd == 0 || nd > 4) throw Error(fmt::format("tensor '{}' has {} dimensions", t.name, nd), path);
    for (uint32_t d = 0; d < nd; ++d) t.ne.push_back(r.get<uint64_t>(t.name.c_str()));
    t.type = r.get<uint32_t>(t.name.c_str());
    t.offset = r.get<uint64_t>(t.name.c_str());
    g.tensors.push_back(t);
  }
  g.data_offset = (r.pos + g.alignment - 1) / g.alignment * g.alignment;
  return g;
}

std::vector<float> gguf_tensor_f32(const GgufFile& g, const GgufTensorInfo& t) {
  uint64_t n = 1;
  for (auto d : t.ne) n *= d;
  size_t bytes = t.type == kGgmlF32   ? n * 4
                 : t.type == kGgmlF16 ? n * 2
                 : t.type == kGgmlQ8_0 ? n / kQ8Block * 34
                                       : 0;
  if (bytes == 0)
    throw Error(fmt::format("tensor '{}' has ggml type {}; slm reads F32 (0), F16 (1) and Q8_0 (8)", t.name, t.type),
                g.file->path());
  if (t.type == kGgmlQ8_0 && t.ne[0] % kQ8Block)
    throw Error(fmt::format("tensor '{}': Q8_0 rows of {} values are not whole blocks of 32", t.name, t.ne[0]), g.file->path());
  const uint64_t at = g.data_offset + t.offset;
  if (at + bytes > g.file->size())
    throw Error(fmt::format("tensor '{}' runs past the end of the file", t.name), g.file->path());
  const unsigned char* p = g.file->data() + at;
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
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  auto it = names.find(rest);
  return it == names.end() ? "" : "blk." + n + "." + it->second;
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

uint32_t meta_u32(const GgufFile& g, const std::string& key) {
  auto it = g.meta.find(key);
  if (it == g.meta.end() || !it->second.is_number_integer())
    throw Error("missing or non-integer metadata '" + key + "'", g.file->path());
  return it->second.get<uint32_t>();
}

// tokenizer.json (Hugging Face's format) from the GGUF vocabulary of a byte-level BPE.
std::string tokenizer_from_gguf(const GgufFile& g) {
  auto get = [&](const std::string& k) -> const json& {
    auto it = g.meta.find(k);
    if (it == g.meta.end()) throw Error("missing metadata '" + k + "'", g.file->path());
    return it->second;
  };
  const std::string model = get("tokenizer.ggml.model").get<std::string>();
  if (model != "gpt2")
    throw Error("tokenizer.ggml.model is '" + model +
                    "': slm runs byte-level BPE vocabularies ('gpt2'); SentencePiece ('llama') vocabularies are not "
                    "supported yet",
                g.file->path());
  if (g.meta.count("tokenizer.ggml.pre")) {
    std::string pre = g.meta.at("tokenizer.ggml.pre");
    if (pre != "gpt-2" && pre != "default")
      throw Error("tokenizer.ggml.pre is '" + pre + "': slm's pre-tokenizer is GPT-2's split ('gpt-2')", g.file->path());
  }
  const json& tokens = get("tokenizer.ggml.tokens");
  const json& merges = get("tokenizer.ggml.merges");
  json types = g.meta.count("tokenizer.ggml.token_type") ? g.meta.at("tokenizer.ggml.token_type") : json::array();
  json vocab = json::object(), added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string t = tokens[i];
    if (types.size() > i && types[i].get<int>() == 3)  // control: a special token
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

}  // namespace

GgufModel load_gguf_model(const std::string& path) {
  GgufFile g = read_gguf(path);
  const std::string arch = g.meta.count("general.architecture") ? g.meta["general.architecture"].get<std::string>() : "";
  if (arch != "llama")
    throw Error("general.architecture is '" + arch + "': slm runs the 'llama' architecture", path);
  ModelConfig c;
  c.dim = int(meta_u32(g, "llama.embedding_length"));
  c.n_layers = int(meta_u32(g, "llama.block_count"));
  c.n_heads = int(meta_u32(g, "llama.attention.head_count"));
  c.n_kv_heads = g.meta.count("llama.attention.head_count_kv") ? int(meta_u32(g, "llama.attention.head_count_kv")) : c.n_heads;
  c.hidden_dim = int(meta_u32(g, "llama.feed_forward_length"));
  c.context = int(meta_u32(g, "llama.context_length"));
  if (g.meta.count("llama.rope.freq_base")) c.rope_theta = g.meta["llama.rope.freq_base"].get<float>();
  if (g.meta.count("llama.attention.layer_norm_rms_epsilon"))
    c.norm_eps = g.meta["llama.attention.layer_norm_rms_epsilon"].get<float>();
  std::map<std::string, const GgufTensorInfo*> by_name;
  for (const auto& t : g.tensors) by_name[t.name] = &t;
  c.tie_embeddings = !by_name.count("output.weight");
  GgufModel out;
  out.tokenizer_json = tokenizer_from_gguf(g);
  if (g.meta.count("tokenizer.chat_template") && g.meta["tokenizer.chat_template"].is_string())
    out.chat_template = g.meta["tokenizer.chat_template"];
  c.vocab_size = int(g.meta.count("llama.vocab_size") ? meta_u32(g, "llama.vocab_size") : g.meta["tokenizer.ggml.tokens"].size());
  c.validate(path);
  out.model = std::make_unique<Transformer<float>>(c);
  auto& m = *out.model;
  for (const auto& t : m.layout().tensors) {
    const std::string gn = gguf_name(t.name);
    auto it = by_name.find(gn);
    if (it == by_name.end()) throw Error("missing tensor '" + gn + "' (" + t.name + ")", path);
    const auto& info = *it->second;
    std::vector<uint64_t> want(t.shape.rbegin(), t.shape.rend());
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
