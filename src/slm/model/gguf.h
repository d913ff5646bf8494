#pragma once
// GGUF (version 3), the file llama.cpp, Ollama and LM Studio run: reading it, and the
// conventions both directions share. Layout (ggml's docs/gguf.md): "GGUF", version,
// tensor count, metadata count; metadata as (key, type, value); tensor infos as (name,
// dims innermost first, ggml type, offset); then tensor data, each aligned to
// general.alignment (32 by default). llama.cpp's Llama keeps the query and key rows of
// each head interleaved for its rotary layout, so convert_hf_to_gguf.py permutes them
// from Hugging Face's order; slm does the same, and undoes it when reading.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/model/transformer.h"
#include "slm/tensor/half.h"
#include "slm/util/mmap.h"

namespace slm::model {

enum GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9,
  kU64 = 10, kI64 = 11, kF64 = 12
};
enum GgmlType : uint32_t { kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ8_0 = 8 };
constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kQ8Block = 32;                   // Q8_0: an f16 scale and 32 int8 a block (34 bytes)

using tensor::f16_to_f32;  // IEEE half precision (tensor/half.h): GGUF's F16 and Q8_0 scales
using tensor::f32_to_f16;

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // dims, innermost first (a [out, in] matrix has ne = {in, out})
  uint32_t type = 0;
  uint64_t offset = 0;       // from the start of the data section
};

struct GgufFile {
  uint32_t version = 0, alignment = 32;
  std::map<std::string, nlohmann::json> meta;   // arrays as JSON arrays
  std::map<std::string, uint32_t> meta_type;    // the GgufType of each key (kArray for arrays)
  std::vector<GgufTensorInfo> tensors;
  uint64_t data_offset = 0;
  std::unique_ptr<MappedFile> file;
};

// Parses a GGUF file; throws slm::Error naming the file and what is wrong.
GgufFile read_gguf(const std::string& path);

// A tensor as float32 (F32, F16 and Q8_0; other types name themselves in the error).
std::vector<float> gguf_tensor_f32(const GgufFile& g, const GgufTensorInfo& t);

// llama.cpp's name for a Hugging Face Llama tensor name ("" when it has none).
std::string gguf_name(const std::string& hf_name);

// A Mixtral expert's matrix (model.layers.N.block_sparse_moe.experts.E.w1.weight) is
// slice E of one 3-D tensor of all the layer's experts in llama.cpp (blk.N.ffn_gate_exps,
// ffn_down_exps for w2, ffn_up_exps for w3; ne = [in, out, n_experts]). expert -1: not one.
struct GgufExpertSlice {
  std::string name;
  int expert = -1;
};
GgufExpertSlice gguf_expert_slice(const std::string& hf_name);

// Rows of a [n_head * head_dim, cols] projection: HF's half-split rotary order to
// llama.cpp's interleaved order (to_gguf), or back.
void permute_rotary_rows(float* w, int n_head, int head_dim, int cols, bool to_gguf);

// A Llama-architecture GGUF as a model slm runs, and its tokenizer as tokenizer.json text.
struct GgufModel {
  std::unique_ptr<Transformer<float>> model;
  std::string tokenizer_json;
  std::string chat_template;  // tokenizer.chat_template, or ""
};
GgufModel load_gguf_model(const std::string& path);

}  // namespace slm::model
