#pragma once
// slm export hf: a folder that Hugging Face transformers loads with
// AutoModelForCausalLM.from_pretrained and AutoTokenizer.from_pretrained: config.json
// (LlamaForCausalLM, with the special token ids), model.safetensors (Llama names),
// tokenizer.json, tokenizer_config.json (PreTrainedTokenizerFast, special tokens, the
// chat template when the model was instruction-tuned), special_tokens_map.json and
// generation_config.json.
#include <string>

namespace slm::exporter {

void export_hf(const std::string& model_dir, const std::string& out_dir);

}  // namespace slm::exporter
