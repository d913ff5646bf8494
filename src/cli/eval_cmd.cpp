// slm eval ...: how good is a model.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "slm/eval/instruct_eval.h"
#include "slm/model/checkpoint_io.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

using nlohmann::json;

tokenizer::Tokenizer load_tokenizer(const std::string& dir) {
  std::string p = (std::filesystem::path(dir) / "tokenizer.json").string();
  if (!std::filesystem::exists(p)) throw Error("no tokenizer.json in the model folder", dir);
  return tokenizer::Tokenizer::load(p);
}

void add_instruct(CLI::App* eval) {
  struct Args {
    Common common;
    std::string model, base, data, out;
    eval::InstructEvalOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = eval->add_subcommand("instruct", "Instruction following on held-out records of slm data instruct");
  cmd->add_option("--model", a->model, "the model folder to evaluate")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--base", a->base, "a second model (e.g. before fine-tuning) to show beside it")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--data", a->data, "held-out records (JSONL from slm data instruct)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "write the scores and every output as JSON here");
  cmd->add_option("--limit", a->o.limit, "records at most (0: all)")->capture_default_str();
  cmd->add_option("--batch", a->o.batch, "prompts decoded together")->capture_default_str();
  add_common(cmd, a->common);
  cmd->footer(
      "Questions: exact match and contains-answer; writing tasks: required words used and features\n"
      "shown; summaries, continuations, morals, endings: ROUGE-L to the reference. Greedy decoding.\n\n"
      "Examples:\n"
      "  slm eval instruct --model runs/q/finetune/model --base runs/q/pretrain/model --data runs/q/sft/heldout.jsonl\n"
      "  slm eval instruct --model M --data heldout.jsonl --limit 100 --out scores.json");
  cmd->callback([a] {
    a->o.quiet = a->common.quiet;
    auto records = eval::read_instruct_records(a->data);
    auto tok = load_tokenizer(a->model);
    auto tuned = eval::eval_instruct(*model::load_model(a->model), tok, records, a->o);
    json report = {{"data", a->data}, {"model", a->model}, {"scores", tuned.to_json()}, {"samples", tuned.samples}};
    std::vector<std::pair<std::string, const eval::InstructEval*>> cols;
    eval::InstructEval base;
    if (!a->base.empty()) {
      base = eval::eval_instruct(*model::load_model(a->base), load_tokenizer(a->base), records, a->o);
      cols.push_back({"base", &base});
      report["base"] = a->base;
      report["base_scores"] = base.to_json();
    }
    cols.push_back({a->base.empty() ? "model" : "fine-tuned", &tuned});
    fmt::print("{}", eval::instruct_table(cols));
    if (tuned.skipped) fmt::print(stderr, "slm: note: {} record(s) skipped: the prompt does not fit the context\n", tuned.skipped);
    if (!a->out.empty()) write_file_atomic(a->out, report.dump(2) + "\n");
  });
}

}  // namespace

void add_eval_commands(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Evaluate a model");
  eval->require_subcommand(1);
  add_instruct(eval);
}

}  // namespace slm::cli
