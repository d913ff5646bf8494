#pragma once
// slm export gguf: a model folder as a GGUF (version 3) file that llama.cpp loads, with
// the metadata keys its Llama loader reads, tensors under its names (query and key rows
// permuted to its rotary layout, as convert_hf_to_gguf.py does), and the byte-level BPE
// vocabulary as its "gpt2" tokenizer with the GPT-2 pre-tokenizer ("gpt-2").
#include <string>

namespace slm::exporter {

struct GgufExportOptions {
  std::string type = "f32";  // f32, f16 or q8_0 (matrices; norms stay f32 as llama.cpp keeps them)
  std::string name;          // general.name (default: the folder's name)
};

// Writes out atomically; returns the bytes written.
size_t export_gguf(const std::string& model_dir, const std::string& out, const GgufExportOptions& opt);

}  // namespace slm::exporter
