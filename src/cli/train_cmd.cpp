// slm pretrain: train a model from token shards.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "slm/train/trainer.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

using nlohmann::json;

// configs/NAME.json, or a path. Presets are looked up beside the binary's source tree too.
std::string find_config(const std::string& name) {
  namespace fs = std::filesystem;
  if (fs::exists(name)) return name;
  for (const std::string& dir : {std::string("configs"), std::string(SLM_SOURCE_DIR) + "/configs"})
    if (fs::exists(dir + "/" + name + ".json")) return dir + "/" + name + ".json";
  throw Error("no such config file or preset (tiny, stories15m, stories42m, gpt2-124m-shape)", name);
}

// Applies "section.field=value" to the config JSON; the value is JSON when it parses.
void apply_override(json& cfg, const std::string& kv) {
  auto eq = kv.find('='), dot = kv.find('.');
  // A malformed --set is a command-line error (exit 2), like any bad option.
  if (eq == std::string::npos || dot == std::string::npos || dot > eq)
    throw CLI::ValidationError("--set " + kv, "expected SECTION.FIELD=VALUE, e.g. train.lr=1e-3");
  std::string section = kv.substr(0, dot), field = kv.substr(dot + 1, eq - dot - 1), value = kv.substr(eq + 1);
  if (section != "model" && section != "train")
    throw CLI::ValidationError("--set " + kv, "the section must be 'model' or 'train'");
  json v = json::parse(value, nullptr, false);
  cfg[section][field] = v.is_discarded() ? json(value) : v;
}

}  // namespace

void add_train_commands(CLI::App& app) {
  struct Args {
    Common common;
    std::string config = "tiny", data, out, resume;
    std::vector<std::string> sets;
    int64_t max_steps = 0, stop_after = -1;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("pretrain", "Pre-train a transformer on token shards (next-token prediction)");
  cmd->add_option("--config", a->config, "a preset (tiny, stories15m, stories42m, gpt2-124m-shape) or a JSON file")
      ->capture_default_str();
  cmd->add_option("--data", a->data, "a folder made by slm data pack")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a->out, "the run folder: checkpoints/, model/, metrics.jsonl, loss.svg")->required();
  cmd->add_option("--resume", a->resume, "continue from a checkpoint folder, or a run folder's latest checkpoint");
  cmd->add_option("--set", a->sets, "override a config field: model.dim=128, train.lr=1e-3 (repeatable)");
  cmd->add_option("--max-steps", a->max_steps, "shorthand for --set train.max_steps=N");
  cmd->add_option("--stop-after", a->stop_after, "stop (with a checkpoint) after N steps of this run, as Ctrl-C does");
  add_common(cmd, a->common);
  cmd->footer(
      "Examples:\n"
      "  slm pretrain --config tiny --data runs/q/shards --out runs/q/pretrain\n"
      "  slm pretrain --config stories15m --data shards --out run --set train.lr=3e-4 --set model.n_kv_heads=2\n"
      "  slm pretrain --config tiny --data shards --out run --resume run\n"
      "Ctrl-C (or SIGTERM) saves a checkpoint and stops; --resume continues exactly where it stopped.");
  cmd->callback([a, cmd] {
    std::string path = find_config(a->config);
    json cfg;
    try {
      cfg = json::parse(read_file(path));
    } catch (const json::parse_error& e) {
      throw Error(std::string("malformed JSON: ") + e.what(), path);
    }
    if (!cfg.is_object()) throw Error("a config is a JSON object with 'model' and 'train'", path);
    for (const auto& s : a->sets) apply_override(cfg, s);
    if (a->max_steps > 0) cfg["train"]["max_steps"] = a->max_steps;
    if (cmd->count("--seed")) cfg["train"]["seed"] = a->common.seed;
    train::PretrainOptions o;
    o.model = model::ModelConfig::from_json(cfg.value("model", json::object()), path);
    o.train = train::TrainConfig::from_json(cfg.value("train", json::object()), path);
    o.data_dir = a->data;
    o.out_dir = a->out;
    o.resume = a->resume;
    o.threads = a->common.resolved_threads();
    o.quiet = a->common.quiet;
    o.stop_after = a->stop_after;
    auto r = train::pretrain(o);
    if (!r.interrupted) fmt::print("{}\n", r.model_dir);
  });
}

}  // namespace slm::cli
