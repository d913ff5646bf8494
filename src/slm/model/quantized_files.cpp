#include "slm/model/quantized_files.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "slm/model/model_files.h"
#include "slm/tensor/q8.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::model {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------- which models are int8
// Neither Transformer nor LoadedModel carries a "quantised" flag, so the loader notes
// each model it made here: where its parameters live and a hash of them. A later model at
// the same address counts only with the very same weights, which int8 then holds exactly.
struct Q8Mark {
  const float* params;
  int64_t count;
  uint64_t hash;
};
std::mutex g_marks_mutex;
std::vector<Q8Mark> g_marks;

uint64_t weights_hash(const float* p, int64_t n) {  // FNV-1a over the 32-bit words
  uint64_t h = 1469598103934665603ull;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    h = (h ^ w) * 1099511628211ull;
  }
  return h;
}

void mark_q8(const Transformer<float>& m) {
  std::lock_guard lock(g_marks_mutex);
  g_marks.push_back({m.params(), m.num_params(), weights_hash(m.params(), m.num_params())});
}

// ---------------------------------------------------------------- the weights file
struct Blob {
  std::string name, dtype;
  std::vector<int64_t> shape;
  const void* data;
  size_t bytes;
};

void write_blobs(const std::string& path, const std::vector<Blob>& blobs) {
  json header = json::object();
  size_t offset = 0;
  for (const auto& b : blobs) {
    header[b.name] = {{"dtype", b.dtype}, {"shape", b.shape}, {"data_offsets", {offset, offset + b.bytes}}};
    offset += b.bytes;
  }
  header["__metadata__"] = {{"format", "slm-q8"}, {"block", std::to_string(tensor::kQ8Block)}};
  std::string h = header.dump();
  while ((h.size() + 8) % 8) h.push_back(' ');  // the data starts 8-byte aligned
  AtomicFile f(path);
  const uint64_t len = h.size();
  f.write(&len, 8);
  f.write(h);
  for (const auto& b : blobs) f.write(b.data, b.bytes);
  f.commit();
}

void save_q8_weights(const std::string& path, const Transformer<float>& m) {
  struct RowMajor { std::vector<int8_t> q; std::vector<float> scale; };
  std::vector<RowMajor> q8;  // kept alive until written
  q8.reserve(m.layout().tensors.size());
  std::vector<Blob> blobs;
  for (const auto& t : m.layout().tensors) {
    const float* w = m.params() + t.offset;
    if (t.shape.size() != 2) {
      blobs.push_back({t.name, "F32", t.shape, w, size_t(t.size) * 4});
      continue;
    }
    const tensor::Q8Matrix m8 = tensor::quantize_q8(w, int(t.shape[0]), int(t.shape[1]));
    auto& q = q8.emplace_back();
    tensor::q8_unpack(m8, q.q, q.scale);  // the scales are fp16 values (Q8_0's), stored as F32
    blobs.push_back({t.name + ".q8", "I8", {m8.rows, int64_t(m8.blocks) * tensor::kQ8Block}, q.q.data(), q.q.size()});
    blobs.push_back({t.name + ".scale", "F32", {m8.rows, m8.blocks}, q.scale.data(), q.scale.size() * 4});
  }
  write_blobs(path, blobs);
}

// One stored tensor's bytes, after checking its dtype and shape against what the config implies.
std::string_view blob(const json& header, std::string_view data, const std::string& name, const std::string& dtype,
                      const std::vector<int64_t>& shape, const std::string& path) {
  if (!header.contains(name)) throw Error("missing tensor '" + name + "' (a checkpoint of another architecture?)", path);
  const json& e = header[name];
  try {
    if (e.at("dtype").get<std::string>() != dtype)
      throw Error(fmt::format("tensor '{}' is {}, expected {}", name, e.at("dtype").get<std::string>(), dtype), path);
    const auto got = e.at("shape").get<std::vector<int64_t>>();
    if (got != shape)
      throw Error(fmt::format("tensor '{}' has shape [{}], config.json implies [{}]", name, fmt::join(got, ", "),
                              fmt::join(shape, ", ")),
                  path);
    const auto off = e.at("data_offsets").get<std::vector<uint64_t>>();
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    const uint64_t want = uint64_t(count) * (dtype == "I8" ? 1 : 4);
    if (off.size() != 2 || off[1] < off[0] || off[1] - off[0] != want || off[1] > data.size())
      throw Error("tensor '" + name + "' has data_offsets outside the file or of the wrong size", path);
    return data.substr(off[0], want);
  } catch (const json::exception& x) {
    throw Error("tensor '" + name + "' has a malformed header entry: " + x.what(), path);
  }
}

// Puts one matrix's int8 blocks times their scales into w ([rows, cols]).
void dequantise_into(float* w, std::string_view q, std::string_view scale, int64_t rows, int64_t cols) {
  const int64_t blocks = (cols + tensor::kQ8Block - 1) / tensor::kQ8Block;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      float s;
      std::memcpy(&s, scale.data() + (r * blocks + c / tensor::kQ8Block) * 4, 4);
      w[r * cols + c] = s * float(int8_t(q[size_t(r * blocks * tensor::kQ8Block + c)]));
    }
}

// Copies the source folder's files but its float weights and training state.
void copy_folder_files(const std::string& from, const std::string& to) {
  for (const auto& e : fs::directory_iterator(from)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name == "model.safetensors" || name == kQ8WeightsFile ||
        name == "optimizer.safetensors" || name == "trainer_state.json")
      continue;
    fs::copy_file(e.path(), fs::path(to) / name);
  }
}

}  // namespace

bool is_q8_folder(const std::string& dir) { return fs::is_regular_file(fs::path(dir) / kQ8WeightsFile); }

std::unique_ptr<Transformer<float>> load_q8_model(const std::string& dir) {
  auto m = std::make_unique<Transformer<float>>(load_model_config(dir));
  const std::string path = (fs::path(dir) / kQ8WeightsFile).string();
  const std::string file = read_file(path);
  uint64_t len = 0;
  if (file.size() >= 8) std::memcpy(&len, file.data(), 8);
  if (file.size() < 8 || len > file.size() - 8) throw Error("truncated file: no complete header", path);
  json header;
  try {
    header = json::parse(file.substr(8, len));
  } catch (const json::parse_error& e) {
    throw Error(std::string("malformed header JSON: ") + e.what(), path);
  }
  const std::string_view data = std::string_view(file).substr(8 + len);
  for (const auto& t : m->layout().tensors) {
    float* w = m->params() + t.offset;
    if (t.shape.size() != 2) {
      auto b = blob(header, data, t.name, "F32", t.shape, path);
      std::memcpy(w, b.data(), b.size());
      continue;
    }
    const int64_t blocks = (t.shape[1] + tensor::kQ8Block - 1) / tensor::kQ8Block;
    auto q = blob(header, data, t.name + ".q8", "I8", {t.shape[0], blocks * tensor::kQ8Block}, path);
    auto s = blob(header, data, t.name + ".scale", "F32", {t.shape[0], blocks}, path);
    dequantise_into(w, q, s, t.shape[0], t.shape[1]);
  }
  mark_q8(*m);
  return m;
}

int64_t quantize_model(const std::string& model_path, const std::string& out) {
  auto l = load_model_and_tokenizer(model_path);  // a folder, an int8 folder or a .gguf
  AtomicDir dir(out);
  if (fs::is_directory(model_path)) {
    copy_folder_files(model_path, dir.path());
  } else {  // a .gguf: its config and tokenizer as a folder holds them, and its template
    write_file_atomic(dir.file("config.json"), l.model->config().to_hf_config().dump(2) + "\n");
    l.tok->save(dir.file("tokenizer.json"));
    if (l.alpaca_template) tokenizer::write_template_file(dir.path());
  }
  save_q8_weights(dir.file(kQ8WeightsFile), *l.model);
  const auto bytes = int64_t(fs::file_size(dir.file(kQ8WeightsFile)));
  dir.commit();
  return bytes;
}

bool loaded_from_q8(const Transformer<float>& m) {
  std::lock_guard lock(g_marks_mutex);
  for (const auto& k : g_marks)
    if (k.params == m.params() && k.count == m.num_params() && k.hash == weights_hash(m.params(), m.num_params()))
      return true;
  return false;
}

}  // namespace slm::model
