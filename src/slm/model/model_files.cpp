#include "slm/model/model_files.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "slm/model/gguf.h"
#include "slm/model/quantized_files.h"
#include "slm/model/safetensors.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::model {

namespace fs = std::filesystem;
using nlohmann::json;

void save_model_files(const std::string& dir, const Transformer<float>& m) {
  json cfg = m.config().to_hf_config();
  cfg["slm"] = m.config().to_json();  // our own fields, exactly as trained
  write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
  std::vector<NamedTensor> tensors;
  for (const auto& t : m.layout().tensors) tensors.push_back({t.name, t.shape, m.params() + t.offset});
  write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

ModelConfig load_model_config(const std::string& dir) {
  std::string path = (fs::path(dir) / "config.json").string();
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw Error(std::string("malformed JSON: ") + e.what(), path);
  }
  if (j.contains("slm")) {
    auto c = ModelConfig::from_json(j["slm"], path);
    c.validate(path);
    return c;
  }
  return ModelConfig::from_hf_config(j, path);
}

std::unique_ptr<Transformer<float>> load_model(const std::string& dir) {
  ModelConfig c = load_model_config(dir);
  auto m = std::make_unique<Transformer<float>>(c);
  std::string path = (fs::path(dir) / "model.safetensors").string();
  auto tensors = read_safetensors(path);
  for (const auto& t : m->layout().tensors) {
    auto it = tensors.find(t.name);
    if (it == tensors.end()) throw Error("missing tensor '" + t.name + "' (a checkpoint of another architecture?)", path);
    if (it->second.shape != t.shape) {
      throw Error(fmt::format("tensor '{}' has shape [{}], config.json implies [{}]", t.name,
                              fmt::join(it->second.shape, ", "), fmt::join(t.shape, ", ")),
                  path);
    }
    std::copy(it->second.data.begin(), it->second.data.end(), m->params() + t.offset);
  }
  return m;
}

LoadedModel load_model_and_tokenizer(const std::string& path) {
  LoadedModel l;
  if (fs::path(path).extension() == ".gguf") {
    auto g = load_gguf_model(path);
    l.model = std::move(g.model);
    l.chat_template = g.chat_template;
    l.tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_json(g.tokenizer_json, path));
    return l;
  }
  const std::string tok_path = (fs::path(path) / "tokenizer.json").string();
  if (!fs::exists(tok_path)) throw Error("no tokenizer.json in the model folder", path);
  l.tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(tok_path));
  l.model = is_q8_folder(path) ? load_q8_model(path) : load_model(path);  // slm quantize wrote int8
  return l;
}

}  // namespace slm::model
