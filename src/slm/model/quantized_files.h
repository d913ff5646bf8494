#pragma once
// A model folder with int8 weights (slm quantize): config.json, tokenizer.json and the
// source folder's other files, with model.q8.safetensors in place of model.safetensors.
// Every matrix (the embedding and output head included) is stored as GGUF's Q8_0 blocks
// are, with a float scale: "NAME.q8" (I8, [rows, blocks · 32], a partial last block padded
// with zeros) and "NAME.scale" (F32, [rows, blocks]); norms stay "NAME" (F32). About 3.6x
// smaller than float32. Loaded, the weights are the int8 values times their scales, and an
// inference engine given such a model runs its int8 path (tensor/q8.h) without being asked.
#include <cstdint>
#include <memory>
#include <string>

#include "slm/model/transformer.h"

namespace slm::model {

inline constexpr const char* kQ8WeightsFile = "model.q8.safetensors";

// Does the folder hold int8 weights (model.q8.safetensors)?
bool is_q8_folder(const std::string& dir);

// Loads an int8 folder's model (its config.json and model.q8.safetensors). Throws
// slm::Error naming the file and the tensor that is missing or has the wrong shape or dtype.
std::unique_ptr<Transformer<float>> load_q8_model(const std::string& dir);

// Quantises a model folder or .gguf file into an int8 folder at out (written whole or not
// at all). Returns the size of the weights file written, in bytes.
int64_t quantize_model(const std::string& model_path, const std::string& out);

// Was this model loaded from an int8 folder (and are its weights still those)?
bool loaded_from_q8(const Transformer<float>& m);

}  // namespace slm::model
