#include "slm/model/model_files.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "slm/model/gguf.h"
#include "slm/model/params.h"
#include "slm/model/quantized_files.h"
#include "slm/model/safetensors.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::model {

namespace fs = std::filesystem;
using nlohmann::json;

void save_model_files(const std::string& dir, const Transformer<float>& m) {
  json cfg = m.config().to_hf_config();  // the one description of the model
  write_file_atomic((fs::path(dir) / "config.json").string(), cfg.dump(2) + "\n");
  std::vector<NamedTensor> tensors;
  for (const auto& t : m.layout().tensors) tensors.push_back({t.name, t.shape, m.params() + t.offset});
  write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

namespace {

// Folders written before the Hugging Face fields became the only description also carry
// a private "slm" section. It is tolerated only while it says the same thing.
void check_old_slm_section(const json& section, const ModelConfig& c, const std::string& path) {
  const json old = ModelConfig::from_json(section, path).to_json(), now = c.to_json();
  for (const auto& [k, v] : now.items()) {
    if (old[k] == v) continue;
    throw Error(fmt::format("config.json's slm.{} is {} but {} is {}; delete the slm section (the Hugging Face "
                            "fields describe the model)",
                            k, old[k].dump(), ModelConfig::hf_field(k), v.dump()),
                path);
  }
}

// Every tensor the config implies, with its shape, and no other: checked before the
// model is allocated, so a config that claims a huge model fails here, not in malloc.
void check_tensors(const ParamLayout& layout, const std::map<std::string, LoadedTensor>& tensors,
                   const std::string& path) {
  for (const auto& t : layout.tensors) {
    auto it = tensors.find(t.name);
    if (it == tensors.end())
      throw Error(fmt::format("missing tensor '{}' [{}] that config.json implies", t.name, fmt::join(t.shape, ", ")),
                  path);
    if (it->second.shape != t.shape)
      throw Error(fmt::format("tensor '{}' has shape [{}], config.json implies [{}]", t.name,
                              fmt::join(it->second.shape, ", "), fmt::join(t.shape, ", ")),
                  path);
  }
  for (const auto& [name, t] : tensors)
    if (layout.find(name) < 0)
      throw Error(fmt::format("tensor '{}' [{}] is not part of the model config.json describes", name,
                              fmt::join(t.shape, ", ")),
                  path);
}

}  // namespace

ModelConfig load_model_config(const std::string& dir) {
  std::string path = (fs::path(dir) / "config.json").string();
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::exception& e) {  // parse_error, or out_of_range for 1e400
    throw Error(std::string("malformed JSON: ") + e.what(), path);
  }
  ModelConfig c = ModelConfig::from_hf_config(j, path);
  if (j.contains("slm")) check_old_slm_section(j["slm"], c, path);
  return c;
}

std::unique_ptr<Transformer<float>> load_model(const std::string& dir) {
  ModelConfig c = load_model_config(dir);
  std::string path = (fs::path(dir) / "model.safetensors").string();
  auto tensors = read_safetensors(path);
  check_tensors(ParamLayout(c), tensors, path);
  auto m = std::make_unique<Transformer<float>>(c);
  for (const auto& t : m->layout().tensors) {
    const auto& data = tensors.at(t.name).data;
    std::copy(data.begin(), data.end(), m->params() + t.offset);
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
    l.alpaca_template = tokenizer::uses_alpaca_template(path, l.chat_template);
    return l;
  }
  const std::string tok_path = (fs::path(path) / "tokenizer.json").string();
  if (!fs::exists(tok_path)) throw Error("no tokenizer.json in the model folder", path);
  l.tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::load(tok_path));
  l.model = is_q8_folder(path) ? load_q8_model(path) : load_model(path);  // slm quantize wrote int8
  l.alpaca_template = tokenizer::uses_alpaca_template(path, l.chat_template);
  return l;
}

}  // namespace slm::model
