// slm pretrain (a model from token shards) and slm finetune (instruction tuning).
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli/train_flags.h"
#include "slm/dist/comm.h"
#include "slm/eval/instruct_eval.h"
#include "slm/model/model_files.h"
#include "slm/train/config_file.h"
#include "slm/train/sft.h"
#include "slm/train/pretrain.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

using nlohmann::json;

void add_finetune(CLI::App& app) {
  struct Args {
    Common common;
    std::string config = "sft", eval;
    std::vector<std::string> sets;
    int64_t max_steps = 0;
    int eval_limit = 0;
    train::FinetuneOptions o;
    LoraFlags lora;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("finetune", "Instruction-tune a model (Alpaca template, loss on the responses only)");
  cmd->add_option("--base", a->o.base, "the model to start from: a folder (with its tokenizer.json) or a .gguf file")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--data", a->o.data, "records: Alpaca .json, or .jsonl of Alpaca or chat ({\"messages\"}) records")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", a->o.out_dir, "the run folder: checkpoints/, model/, metrics.jsonl, loss.svg")->required();
  cmd->add_option("--val", a->o.val, "held-out records for the validation loss (default: 2% of --data)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--config", a->config, "a JSON file with a 'train' section")->capture_default_str();
  add_set_option(cmd, a->sets, "override a field: train.lr=3e-4 (repeatable)");
  add_dtype_option(cmd);
  add_step_options(cmd, a->max_steps, a->o.stop_after);
  cmd->add_option("--epochs", a->o.epochs, "train this many passes over the data (sets max_steps)")
      ->check(in_range(0, 1e6, Ends::open_low));
  add_sft_loss_options(cmd, a->o.per_example_loss, a->o.words_weight);
  cmd->add_flag("--truncate", a->o.truncate, "cut records longer than the context (default: skip them, counted)");
  cmd->add_option("--resume", a->o.resume, "continue from a checkpoint folder, or a run folder's latest checkpoint");
  add_lora_options(cmd, a->lora);
  cmd->add_option("--eval", a->eval, "held-out records of slm data instruct: evaluate base and fine-tuned model after")
      ->check(CLI::ExistingFile);
  cmd->add_option("--eval-limit", a->eval_limit, "with --eval: records at most (0: all)")
      ->capture_default_str()
      ->check(in_range(0, kMaxCount));
  add_common(cmd, a->common);
  cmd->footer(
      "Each record becomes Alpaca's prompt (with or without input) followed by the response and\n"
      "<|endoftext|>; only the response tokens are trained on. The model folder it writes records the\n"
      "template (prompt_template.json), so slm generate and slm chat use it on their own.\n\n"
      "Examples:\n"
      "  slm finetune --base runs/q/pretrain/model --data runs/q/sft/train.jsonl --out runs/q/finetune\n"
      "  slm finetune --base M --data alpaca_data.json --epochs 3 --truncate --out run\n"
      "  slm finetune --base M --data chats.jsonl --set train.lr=3e-4 --out run --eval heldout.jsonl\n"
      "  slm finetune --base M --data D --lora 8 --lora-targets q,k,v,o --lora-dropout 0.05 --set train.lr=1e-3 --out run\n\n"
      "With --lora the run's model/ folder is an adapter in Hugging Face PEFT's layout\n"
      "(adapter_config.json, adapter_model.safetensors): slm lora merge folds it into the base.");
  cmd->callback([a, cmd] {
    auto sets = overrides(a->sets, a->max_steps, cmd, a->common.seed);
    a->o.train = train::load_run_config(a->config, sets, kPresetDirs, /*allow_model=*/false).train;
    a->o.threads = a->common.resolved_threads();
    a->o.quiet = a->common.quiet;
    a->o.lora = a->lora.to_config();
    // Read before training, so a bad file fails now rather than after the run.
    std::vector<stories::InstructRecord> records;
    if (!a->eval.empty()) records = eval::read_instruct_records(a->eval);
    auto r = train::finetune(a->o);
    if (r.interrupted || !dist::is_root()) return;  // under mpirun, rank 0 reports
    if (!a->eval.empty()) {
      eval::InstructEvalOptions eo;
      eo.limit = a->eval_limit;
      eo.quiet = a->common.quiet;
      auto c = eval::compare_finetuned(records, a->eval, a->o.base, r.model_dir, a->lora.rank > 0, eo);
      fmt::print(stderr, "{}", c.table);
      write_file_atomic((std::filesystem::path(a->o.out_dir) / "eval_instruct.json").string(),
                        c.report.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    }
    fmt::print("{}\n", r.model_dir);
  });
}

}  // namespace

void add_train_commands(CLI::App& app) {
  add_finetune(app);
  struct Args {
    Common common;
    std::string config = "tiny", data, out, resume, init;
    std::vector<std::string> sets;
    int64_t max_steps = 0, stop_after = -1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("pretrain", "Pre-train a transformer on token shards (next-token prediction)");
  cmd->add_option("--config", a->config, "a preset (tiny, small, stories15m, stories42m, gpt2-124m-shape) or a JSON file")
      ->capture_default_str();
  cmd->add_option("--data", a->data, "a folder made by slm data pack")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a->out, "the run folder: checkpoints/, model/, metrics.jsonl, loss.svg")->required();
  cmd->add_option("--resume", a->resume, "continue from a checkpoint folder, or a run folder's latest checkpoint");
  cmd->add_option("--init", a->init, "start from this model folder's weights (e.g. from slm moe upcycle), not random ones")
      ->check(CLI::ExistingDirectory);
  add_set_option(cmd, a->sets, "override a config field: model.dim=128, train.lr=1e-3 (repeatable)");
  add_dtype_option(cmd);
  add_step_options(cmd, a->max_steps, a->stop_after);
  add_common(cmd, a->common);
  cmd->footer(
      "Examples:\n"
      "  slm pretrain --config tiny --data runs/q/shards --out runs/q/pretrain\n"
      "  slm pretrain --config stories15m --data shards --out run --set train.lr=3e-4 --set model.n_kv_heads=2\n"
      "  slm pretrain --config tiny --data shards --out run --resume run\n"
      "  slm pretrain --init runs/q/moe/model --data runs/q/shards --out runs/q/moe-pretrain\n"
      "Ctrl-C (or SIGTERM) saves a checkpoint and stops; --resume continues exactly where it stopped.");
  cmd->callback([a, cmd] {
    auto cfg = train::load_run_config(a->config, overrides(a->sets, a->max_steps, cmd, a->common.seed), kPresetDirs);
    train::PretrainOptions o;
    o.model = cfg.model.value_or(model::ModelConfig{});
    o.train = cfg.train;
    o.data_dir = a->data;
    o.out_dir = a->out;
    o.resume = a->resume;
    o.init = a->init;
    // With --init, the model's shape is its own unless --config or a model.* setting says otherwise.
    o.model_given = a->init.empty() || cmd->count("--config") > 0 ||
                    std::any_of(a->sets.begin(), a->sets.end(), [](const std::string& s) { return s.rfind("model.", 0) == 0; });
    o.threads = a->common.resolved_threads();
    o.quiet = a->common.quiet;
    o.stop_after = a->stop_after;
    auto r = train::pretrain(o);
    if (!r.interrupted && dist::is_root()) fmt::print("{}\n", r.model_dir);
  });
}

}  // namespace slm::cli
