#include "cli/train_flags.h"

#include "cli/common.h"
#include "slm/train/config_file.h"
#include "slm/util/error.h"

namespace slm::cli {

const std::vector<std::string> kPresetDirs = {"configs", std::string(SLM_SOURCE_DIR) + "/configs"};

void add_set_option(CLI::App* cmd, std::vector<std::string>& sets, const char* help) {
  cmd->add_option("--set", sets, help)
      ->check(CLI::Validator([](std::string& kv) { return train::override_problem(kv); }, "SECTION.FIELD=VALUE"));
}

void add_dtype_option(CLI::App* cmd) {
  cmd->add_option("--dtype", "shorthand for --set train.dtype=D: bf16 (fp32 master weights and optimizer), fp32, "
                             "or auto (bf16 where the CPU has AVX512_BF16; the default)")
      ->check(CLI::IsMember({"auto", "bf16", "fp32"}));
  // Every command that trains also runs data parallel under mpirun (docs/distributed.md).
  cmd->add_option("--zero", "shorthand for --set train.zero=N: 1 shards the AdamW state over the mpirun ranks (ZeRO-1)")
      ->check(CLI::IsMember({"0", "1"}));
  cmd->add_flag("--deterministic")->description("sum gradients in one fixed order, so N ranks reproduce one rank's run bit for bit");
  cmd->add_option("--dist-timeout", "seconds a rank waits for the others before the run stops with an error "
                                    "(default 300)")
      ->check(in_range(0, 1e9, Ends::open_low));
}

void add_step_options(CLI::App* cmd, int64_t& max_steps, int64_t& stop_after) {
  cmd->add_option("--max-steps", max_steps, "shorthand for --set train.max_steps=N")->check(in_range(1, kMaxCount));
  cmd->add_option("--stop-after", stop_after, "stop (with a checkpoint) after N steps of this run, as Ctrl-C does")
      ->check(in_range(1, kMaxCount));
}

std::vector<std::string> overrides(std::vector<std::string> sets, int64_t max_steps, const CLI::App* cmd,
                                   uint64_t seed) {
  if (max_steps > 0) sets.push_back("train.max_steps=" + std::to_string(max_steps));
  if (cmd->count("--dtype")) sets.push_back("train.dtype=" + cmd->get_option("--dtype")->as<std::string>());
  if (cmd->count("--zero")) sets.push_back("train.zero=" + cmd->get_option("--zero")->as<std::string>());
  if (cmd->count("--deterministic")) sets.push_back("train.deterministic=true");
  if (cmd->count("--dist-timeout"))
    sets.push_back("train.dist_timeout=" + cmd->get_option("--dist-timeout")->as<std::string>());
  if (cmd->count("--seed")) sets.push_back("train.seed=" + std::to_string(seed));
  return sets;
}

void add_lora_options(CLI::App* cmd, LoraFlags& f) {
  auto* lora = cmd->add_option("--lora", f.rank, "train LoRA adapters of this rank with the base frozen")
                   ->check(in_range(1, 65536));
  cmd->add_option("--lora-alpha", f.alpha, "LoRA's alpha: the update is scaled by alpha / rank (default: 2 x rank)")
      ->check(in_range(0, 1e6, Ends::open_low))
      ->needs(lora);
  cmd->add_option("--lora-targets", f.targets, "the linear layers to adapt: q,k,v,o,gate,up,down or all")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) {
            try {
              train::parse_lora_targets(v, "--lora-targets");
              return std::string();
            } catch (const Error& e) {
              return std::string(e.what());
            }
          },
          "LIST"))
      ->needs(lora);
  cmd->add_option("--lora-dropout", f.dropout,
                  "dropout on the adapters' input in training (PEFT's lora_dropout; off in evaluation and merging)")
      ->capture_default_str()
      ->check(in_range(0, 1, Ends::open_high))
      ->needs(lora);
}

train::LoraConfig LoraFlags::to_config() const {
  if (rank <= 0) return train::LoraConfig::none();
  train::LoraConfig c;
  c.rank = rank;
  c.alpha = alpha > 0 ? alpha : 2.0 * rank;
  c.targets = train::parse_lora_targets(targets, "--lora-targets");  // checked while parsing
  c.dropout = dropout;
  return c;
}

void add_sft_loss_options(CLI::App* cmd, bool& per_example_loss, double& words_weight) {
  cmd->add_option_function<std::string>(
         "--loss", [&per_example_loss](const std::string& v) { per_example_loss = v == "example"; },
         "example: each example's response weighs the same (default); token: every response token does (Alpaca)")
      ->check(CLI::IsMember({"example", "token"}));
  cmd->add_option("--words-weight", words_weight,
                  "count the loss on the tokens of a record's required words (its \"words\") this many times")
      ->capture_default_str()
      ->check(in_range(0, 1e4, Ends::open_low));
}

}  // namespace slm::cli
