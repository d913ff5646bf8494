#pragma once
// safetensors: 8-byte little-endian header length, a JSON header (name -> dtype, shape,
// data_offsets; optional __metadata__), then the raw tensor bytes. F32 is written; F32,
// F16 and BF16 are read (converted to float).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace slm::model {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;  // float32, shape's product elements
};

// Writes atomically.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

struct LoadedTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Reads every tensor. Throws slm::Error naming the file and the tensor or header field
// for a truncated file, a bad header, an unknown dtype or offsets that disagree.
std::map<std::string, LoadedTensor> read_safetensors(const std::string& path,
                                                     std::map<std::string, std::string>* metadata = nullptr);

}  // namespace slm::model
