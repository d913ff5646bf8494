#pragma once
// The flags every training command shares (pretrain, finetune, distill, align grpo/dpo):
// --set, --dtype, --max-steps and --stop-after, and how the shorthands become overrides
// of the run config, so each command reads and checks them the same way.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "slm/train/lora.h"

namespace slm::cli {

// Where presets (tiny, stories15m, sft, ...) are looked up: ./configs, then the source tree's.
extern const std::vector<std::string> kPresetDirs;

// --set SECTION.FIELD=VALUE (repeatable), checked while parsing so that a bad one is a
// command-line error (exit 2).
void add_set_option(CLI::App* cmd, std::vector<std::string>& sets, const char* help);

// --dtype: the precision of the linear layers' products (train.dtype).
void add_dtype_option(CLI::App* cmd);

// --max-steps (shorthand for train.max_steps) and --stop-after (stop with a checkpoint after
// N steps of this run, as Ctrl-C does).
void add_step_options(CLI::App* cmd, int64_t& max_steps, int64_t& stop_after);

// The user's --set followed by the shorthands --max-steps, --dtype and --seed (the last
// override wins, so a shorthand given on the command line beats a --set of the same field).
std::vector<std::string> overrides(std::vector<std::string> sets, int64_t max_steps, const CLI::App* cmd,
                                   uint64_t seed);

// --lora R, --lora-alpha A, --lora-targets LIST and --lora-dropout P (finetune, align dpo
// and grpo: the same flags and defaults); to_config() gives LoraConfig::none() without --lora.
struct LoraFlags {
  int rank = 0;
  double alpha = 0;  // 0: 2 x rank
  std::string targets = "all";
  double dropout = 0;
  train::LoraConfig to_config() const;
};
void add_lora_options(CLI::App* cmd, LoraFlags& f);

// --loss example|token and --words-weight W: how instruction records' response tokens
// weigh (finetune, and distill on records; train::FinetuneOptions has the meaning).
void add_sft_loss_options(CLI::App* cmd, bool& per_example_loss, double& words_weight);

}  // namespace slm::cli
