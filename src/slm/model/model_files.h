#pragma once
// A model folder as Hugging Face lays one out: config.json (Llama fields), model.safetensors
// (Llama tensor names), tokenizer.json. Loading checks every tensor's name and shape.
#include <memory>
#include <string>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::model {

// Writes config.json and model.safetensors into dir (which must exist).
void save_model_files(const std::string& dir, const Transformer<float>& m);

// The config of a model folder (config.json).
ModelConfig load_model_config(const std::string& dir);

// Loads a model folder. Throws slm::Error naming the file and the tensor that is missing
// or has the wrong shape (a checkpoint of another architecture).
std::unique_ptr<Transformer<float>> load_model(const std::string& dir);

// A model and its tokenizer from a model folder (with tokenizer.json) or a .gguf file.
struct LoadedModel {
  std::unique_ptr<Transformer<float>> model;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::string chat_template;  // a GGUF file's tokenizer.chat_template, if it has one
  // The model was tuned on Alpaca's prompt template (a folder's prompt_template.json or a
  // GGUF's tokenizer.chat_template): generate, chat, eval and export wrap prompts in it.
  bool alpaca_template = false;
};
LoadedModel load_model_and_tokenizer(const std::string& path);

}  // namespace slm::model
