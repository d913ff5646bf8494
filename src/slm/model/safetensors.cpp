#include "slm/model/safetensors.h"

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/mmap.h"

namespace slm::model {

using nlohmann::json;

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (auto d : t.shape) n *= uint64_t(d);
    header[t.name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + n * 4}}};
    offset += n * 4;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string h = header.dump();
  while ((h.size() + 8) % 8) h.push_back(' ');  // the data starts 8-byte aligned
  AtomicFile f(path);
  uint64_t len = h.size();
  f.write(&len, 8);
  f.write(h);
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (auto d : t.shape) n *= uint64_t(d);
    f.write(t.data, n * 4);
  }
  f.commit();
}

namespace {
float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) mant <<= 1, --exp;
      bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The header's claims are checked before anything is sized by them: the shape's
// product (which could wrap around 64 bits) against a cap, the byte range against the
// file.
constexpr uint64_t kMaxHeader = uint64_t(100) << 20;  // the format's own limit (100 MB)
constexpr uint64_t kMaxElements = uint64_t(1) << 40;

uint64_t checked_shape(const json& shape, std::vector<int64_t>& dims, const std::function<void(const std::string&)>& fail) {
  if (!shape.is_array()) fail("shape must be a list of integers");
  uint64_t n = 1;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned()) fail("shape holds a " + std::string(d.type_name()) + ", not a non-negative integer");
    const uint64_t v = d.get<uint64_t>();
    if (v > kMaxElements || (v && n > kMaxElements / v)) fail("shape is implausibly large (over 2^40 elements)");
    n *= v;
    dims.push_back(int64_t(v));
  }
  return n;
}

void convert(const std::string& dtype, const unsigned char* src, uint64_t n, float* dst) {
  if (dtype == "F32") return void(std::memcpy(dst, src, n * 4));
  for (uint64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    if (dtype == "F16") {
      dst[i] = half_to_float(h);
    } else {  // BF16: the top half of a float32
      uint32_t bits = uint32_t(h) << 16;
      std::memcpy(&dst[i], &bits, 4);
    }
  }
}

json parse_header(const MappedFile& m, const std::string& path, uint64_t& hlen) {
  if (m.size() < 8) throw Error("not a safetensors file: shorter than its 8-byte header length", path);
  std::memcpy(&hlen, m.data(), 8);
  if (hlen > m.size() - 8) throw Error("header length " + std::to_string(hlen) + " runs past the end of the file", path);
  if (hlen > kMaxHeader) throw Error("header length " + std::to_string(hlen) + " is over the format's 100 MB", path);
  json header;
  try {
    header = json::parse(std::string(reinterpret_cast<const char*>(m.data()) + 8, hlen));
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers such as 1e999
    throw Error(std::string("malformed header JSON: ") + e.what(), path);
  }
  if (!header.is_object()) throw Error("the header is not a JSON object", path);
  return header;
}

}  // namespace

std::map<std::string, LoadedTensor> read_safetensors(const std::string& path,
                                                     std::map<std::string, std::string>* metadata) {
  MappedFile m(path);
  uint64_t hlen;
  const json header = parse_header(m, path, hlen);
  const unsigned char* base = m.data() + 8 + hlen;
  const uint64_t data_size = m.size() - 8 - hlen;
  std::map<std::string, LoadedTensor> out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw Error("__metadata__ must be an object of strings", path);
      if (metadata)
        for (const auto& [k, v] : info.items())
          if (v.is_string()) (*metadata)[k] = v.get<std::string>();
      continue;
    }
    auto fail = [&](const std::string& what) { throw Error("tensor '" + name + "': " + what, path); };
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      fail("needs dtype, shape and data_offsets");
    const std::string dtype = info["dtype"].is_string() ? info["dtype"].get<std::string>() : std::string("a ") + info["dtype"].type_name();
    const size_t width = dtype == "F32" ? 4 : (dtype == "F16" || dtype == "BF16") ? 2 : 0;
    if (!width) fail("dtype '" + dtype + "' is not supported (F32, F16, BF16)");
    LoadedTensor t;
    const uint64_t n = checked_shape(info["shape"], t.shape, fail);
    const auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      fail("data_offsets must be two integers");
    const uint64_t begin = off[0], end = off[1];
    if (begin > end || end > data_size) fail("data_offsets run past the end of the file (truncated?)");
    if (end - begin != n * width)
      fail("data_offsets hold " + std::to_string(end - begin) + " bytes, the shape needs " + std::to_string(n * width));
    t.data.resize(n);
    convert(dtype, base + begin, n, t.data.data());
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace slm::model
