#include "slm/export/hf_export.h"

#include <unistd.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "slm/tokenizer/chat_template.h"
#include "slm/model/model_files.h"
#include "slm/model/gguf.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::exporter {

namespace fs = std::filesystem;
using nlohmann::json;

void export_hf(const std::string& model_dir, const std::string& out_dir) {
  auto l = model::load_model_and_tokenizer(model_dir);  // checks the folder (or .gguf) is whole
  const auto& c = l.model->config();
  const uint32_t eot = l.tok->eot();
  const std::string eot_text = "<|endoftext|>";
  const bool templated = l.alpaca_template;
  // Assembled beside the destination and renamed into place.
  AtomicDir out(out_dir);
  const std::string& tmp = out.path();
  if (auto why = model::mixtral_incompatibility(c); !why.empty())
    throw Error("transformers' MixtralForCausalLM cannot run this mixture of experts: " + why, model_dir);
  json cfg = c.to_hf_config();
  if (c.is_moe()) cfg["intermediate_size"] = c.expert_dim();  // Mixtral's experts are intermediate_size wide
  cfg["bos_token_id"] = eot;
  cfg["eos_token_id"] = eot;
  cfg["pad_token_id"] = eot;
  write_file_atomic((fs::path(tmp) / "config.json").string(), cfg.dump(2) + "\n");
  model::save_model_files(tmp, *l.model);  // model.safetensors (and config.json, rewritten below)
  write_file_atomic((fs::path(tmp) / "config.json").string(), cfg.dump(2) + "\n");
  write_file_atomic((fs::path(tmp) / "tokenizer.json").string(), l.tok->to_json());
  json tc = {{"tokenizer_class", "PreTrainedTokenizerFast"},
             {"bos_token", eot_text},
             {"eos_token", eot_text},
             {"unk_token", nullptr},
             {"pad_token", eot_text},
             {"add_bos_token", false},
             {"add_eos_token", false},
             {"clean_up_tokenization_spaces", false},
             {"model_max_length", c.context}};
  if (templated) tc["chat_template"] = tokenizer::alpaca_jinja_template();
  write_file_atomic((fs::path(tmp) / "tokenizer_config.json").string(), tc.dump(2) + "\n");
  write_file_atomic((fs::path(tmp) / "special_tokens_map.json").string(),
                    json{{"bos_token", eot_text}, {"eos_token", eot_text}, {"pad_token", eot_text}}.dump(2) + "\n");
  write_file_atomic((fs::path(tmp) / "generation_config.json").string(),
                    json{{"bos_token_id", eot}, {"eos_token_id", eot}, {"pad_token_id", eot}, {"max_length", c.context},
                         {"do_sample", true}, {"temperature", 0.7}, {"top_k", 40}}
                            .dump(2) + "\n");
  if (templated) tokenizer::write_template_file(tmp);
  out.commit();
}

}  // namespace slm::exporter
