// slm lora merge: fold a LoRA adapter (slm finetune --lora, or any PEFT LoRA adapter of
// the same model) into its base, giving a plain model folder for every other command.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "cli/common.h"
#include "slm/train/lora.h"

namespace slm::cli {

void add_lora_commands(CLI::App& app) {
  auto* lora = app.add_subcommand("lora", "LoRA adapters (train them with slm finetune --lora)");
  lora->require_subcommand(1);
  struct Args {
    std::string base, adapter, out;
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = lora->add_subcommand("merge", "Fold a LoRA adapter into its base model: W = W0 + (alpha/r)·B·A");
  cmd->add_option("--base", a->base, "the base model: a folder (with tokenizer.json) or a .gguf file")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--adapter", a->adapter, "the adapter folder (adapter_config.json, adapter_model.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a->out, "the merged model folder (written whole or not at all)")->required();
  cmd->add_flag("--quiet,-q", a->quiet, "no summary on stderr");
  cmd->footer(
      "Example:\n"
      "  slm finetune --base runs/q/pretrain/model --data sft.jsonl --lora 8 --out runs/lora\n"
      "  slm lora merge --base runs/q/pretrain/model --adapter runs/lora/model --out runs/lora/merged\n"
      "  slm export gguf --model runs/lora/merged --out merged.gguf");
  cmd->callback([a] {
    const int n = train::merge_lora(a->base, a->adapter, a->out);
    if (!a->quiet) fmt::print(stderr, "merged {} adapted weight matrices into {}\n", n, a->out);
    fmt::print("{}\n", a->out);
  });
}

}  // namespace slm::cli
