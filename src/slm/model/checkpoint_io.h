#pragma once
// A model folder as Hugging Face lays one out: config.json (Llama fields), model.safetensors
// (Llama tensor names), tokenizer.json. Loading checks every tensor's name and shape.
#include <memory>
#include <string>

#include "slm/model/transformer.h"

namespace slm::model {

// Writes config.json and model.safetensors into dir (which must exist).
void save_model_files(const std::string& dir, const Transformer<float>& m);

// The config of a model folder (config.json).
ModelConfig load_model_config(const std::string& dir);

// Loads a model folder. Throws slm::Error naming the file and the tensor that is missing
// or has the wrong shape (a checkpoint of another architecture).
std::unique_ptr<Transformer<float>> load_model(const std::string& dir);

}  // namespace slm::model
