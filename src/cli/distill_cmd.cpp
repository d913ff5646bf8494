// slm distill (a student trained on a teacher's logits) and slm distill generate (a
// teacher writes a corpus or answers instructions: sequence-level distillation).
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "cli/train_flags.h"
#include "cli/teacher_flags.h"
#include "slm/distill/compare.h"
#include "slm/distill/distill.h"
#include "slm/distill/generate_data.h"
#include "slm/train/config_file.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {


void add_generate(CLI::App* parent) {
  struct Args {
    Common common;
    distill::GenerateDataOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("generate", "A teacher writes training data: stories, or answers to instructions");
  cmd->add_option("--teacher", a->o.teacher, "a local teacher: a model folder or a .gguf file")->check(CLI::ExistingPath);
  add_teacher_url(cmd, a->o.endpoint);
  cmd->add_option("--instructions", a->o.instructions,
                  "answer these records (Alpaca .json or .jsonl) instead of writing stories")
      ->check(CLI::ExistingFile);
  cmd->add_option("--count", a->o.count, "stories to write (stories mode); records at most (instructions mode, 0: all)")
      ->capture_default_str()
      ->check(in_range(0, kMaxCount));
  cmd->add_option("--max-tokens", a->o.max_tokens, "tokens per reply at most")->capture_default_str()->check(in_range(1, 1e6));
  cmd->add_option("--temperature", a->o.temperature, "sampling temperature")->capture_default_str()->check(in_range(0, 10));
  cmd->add_option("--top-p", a->o.top_p, "nucleus sampling (local teacher)")->capture_default_str()->check(in_range(0, 1, Ends::open_low));
  cmd->add_option("--batch", a->o.batch, "sequences decoded together (local teacher)")->capture_default_str()->check(in_range(1, 4096));
  cmd->add_option("--out", a->o.out, "the output: .jsonl (stories: {\"text\"} records for data import; "
                                     "instructions: Alpaca records for finetune)")
      ->required();
  add_common(cmd, a->common);
  cmd->footer(
      "Stories mode asks TinyStories' prompts (a noun, a verb, an adjective and features drawn from\n"
      "the story world); a local base model continues story beginnings instead. Instructions mode\n"
      "answers each record. Bad or empty replies are asked again, then left out and counted.\n\n"
      "Examples:\n"
      "  slm distill generate --teacher runs/big/model --count 2000 --out teacher_stories.jsonl\n"
      "  slm distill generate --teacher-url http://127.0.0.1:8080/v1 --teacher-model big --count 500 --out s.jsonl\n"
      "  slm distill generate --teacher runs/ft/model --instructions sft/train.jsonl --out sft_teacher.jsonl\n"
      "then: slm data import s.jsonl --out data/teacher   or   slm finetune --data sft_teacher.jsonl ...");
  cmd->callback([a] {
    a->o.seed = a->common.seed;
    a->o.threads = a->common.resolved_threads();
    a->o.quiet = a->common.quiet;
    read_teacher_key(a->o.endpoint);
    if (a->o.teacher.empty() == a->o.endpoint.url.empty())
      throw CLI::ValidationError("--teacher", "give exactly one of --teacher (a local model) and --teacher-url");
    if (!a->o.endpoint.url.empty() && a->o.endpoint.model.empty())
      throw CLI::RequiredError("--teacher-model (with --teacher-url)");
    auto s = distill::generate_data(a->o);
    fmt::print(stderr, "wrote {} records ({} failed, {} cut at --max-tokens, {} from the cache) to {}\n", s.written,
               s.failed, s.truncated, s.cached, a->o.out);
    fmt::print("{}\n", a->o.out);
  });
}

void add_compare(CLI::App* parent) {
  struct Args {
    std::vector<std::string> runs;
    std::string out;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("compare", "Validation curves of teacher, scratch and distilled runs in one picture");
  cmd->add_option("runs", a->runs, "NAME=RUN_DIR (or RUN_DIR): the teacher first, the scratch student second")
      ->required()
      ->expected(2, 64);
  cmd->add_option("--out", a->out, "the picture (.svg); its figures go beside it as .json")->required();
  cmd->footer(
      "Prints each run's last validation loss and the share of the teacher's gain over the scratch\n"
      "student that each run recovers: (L_scratch - L_run) / (L_scratch - L_teacher).\n\n"
      "Example:\n  slm distill compare teacher=runs/big scratch=runs/small distilled=runs/kd --out compare.svg");
  cmd->callback([a] {
    std::vector<distill::RunCurve> runs;
    for (const auto& r : a->runs) {
      const auto eq = r.find('=');
      runs.push_back(eq == std::string::npos ? distill::RunCurve{r, r} : distill::RunCurve{r.substr(0, eq), r.substr(eq + 1)});
    }
    auto figs = distill::compare_runs(runs, a->out);
    std::string json_path = a->out;
    const auto dot = json_path.rfind('.');
    json_path = (dot == std::string::npos ? json_path : json_path.substr(0, dot)) + ".json";
    write_file_atomic(json_path, figs.dump(2) + "\n");
    fmt::print("{}", distill::compare_table(figs));
  });
}

}  // namespace

void add_distill_commands(CLI::App& app) {
  struct Args {
    Common common;
    std::string student, divergence = "forward";
    std::vector<std::string> sets;
    int64_t max_steps = 0, stop_after = -1;
    distill::DistillOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("distill", "Train a student on a teacher's logits (knowledge distillation)");
  cmd->require_subcommand(0, 1);
  cmd->add_option("--teacher", a->o.teacher, "the teacher: a model folder or a .gguf file")->check(CLI::ExistingPath);
  cmd->add_option("--student", a->student, "the student's preset (tiny, ...) or a JSON file with a model section");
  cmd->add_option("--data", a->o.data_dir,
                  "token shards from slm data pack (made with the teacher's tokenizer), or instruction records "
                  "(.json/.jsonl) to fine-tune --init on")
      ->check(CLI::ExistingPath);
  add_sft_loss_options(cmd, a->o.per_example_loss, a->o.words_weight);  // instruction records only
  cmd->add_flag("--truncate", a->o.truncate,
                "instruction records: cut those longer than the context (default: skip them, counted, as slm finetune)");
  cmd->add_option("--init", a->o.init, "start the student from this model folder (instead of --student's fresh weights)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a->o.out_dir, "the run folder: checkpoints/, model/, metrics.jsonl, loss.svg");
  cmd->add_option("--alpha", a->o.kd.alpha, "weight of the labels' cross-entropy; 1 - alpha weighs the teacher")
      ->capture_default_str()
      ->check(in_range(0, 1));
  cmd->add_option("--temperature", a->o.kd.temperature, "softmax temperature of teacher and student in the KL term")
      ->capture_default_str()
      ->check(in_range(0, 100, Ends::open_low));
  cmd->add_option("--divergence", a->divergence, "forward: KL(teacher || student) (Hinton); reverse: KL(student || teacher) (MiniLLM)")
      ->capture_default_str()
      ->check(CLI::IsMember({"forward", "reverse"}));
  cmd->add_option("--cache-topk", a->o.cache_topk, "run the teacher once and train from its top-K logits cached on disk")
      ->check(in_range(1, 1 << 20));
  cmd->add_option("--cache-dir", a->o.cache_dir, "where the top-k cache is kept (default: OUT/teacher_topk); reused when it fits");
  cmd->add_option("--resume", a->o.resume, "continue from a checkpoint folder, or a run folder's latest checkpoint");
  add_set_option(cmd, a->sets, "override a config field: model.dim=64, train.lr=1e-3 (repeatable)");
  add_dtype_option(cmd);
  add_step_options(cmd, a->max_steps, a->stop_after);
  add_common(cmd, a->common);
  cmd->footer(
      "The student trains on alpha * CE(labels) + (1 - alpha) * T^2 * KL at temperature T. Teacher,\n"
      "student and data share one tokenizer (checked). Validation is the student's plain next-token\n"
      "loss, as slm pretrain reports it. Ctrl-C saves a checkpoint; --resume continues exactly.\n\n"
      "Examples:\n"
      "  slm distill --teacher runs/big/model --student tiny --data shards --out runs/student\n"
      "  slm distill --teacher big.gguf --student small.json --data shards --out run --cache-topk 32\n"
      "  slm distill --teacher runs/big/model --student tiny --data shards --out run --divergence reverse\n"
      "  slm distill --teacher runs/big_ft/model --init runs/small/model --data sft/train.jsonl --out run\n"
      "  slm distill generate --help     (sequence-level distillation: the teacher writes the data)");
  add_generate(cmd);
  add_compare(cmd);
  cmd->callback([a, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // distill generate or compare ran
    for (auto [flag, value] : {std::pair{"--teacher", &a->o.teacher}, {"--data", &a->o.data_dir}, {"--out", &a->o.out_dir}})
      if (value->empty()) throw CLI::RequiredError(flag);
    if (a->student.empty() == a->o.init.empty())
      throw CLI::ValidationError("--student", "give one of --student (a fresh student of that shape) and --init (a model folder)");
    // With --init the model is --init's; the train section comes from the preset its data
    // calls for (fine-tuning's for records, pre-training's for shards), then --set.
    const bool records = std::filesystem::is_regular_file(a->o.data_dir);
    if (!records && cmd->count("--loss"))
      throw CLI::ValidationError("--loss", "weighs the responses of instruction records, not token shards");
    if (!records && a->o.truncate)
      throw CLI::ValidationError("--truncate", "cuts instruction records longer than the context, not token shards");
    if (!a->o.init.empty()) a->student = records ? "sft" : "tiny";
    auto cfg = train::load_run_config(a->student, overrides(a->sets, a->max_steps, cmd, a->common.seed), kPresetDirs);
    a->o.student = cfg.model.value_or(model::ModelConfig{});
    a->o.train = cfg.train;
    a->o.kd.divergence = a->divergence == "reverse" ? distill::Divergence::reverse : distill::Divergence::forward;
    a->o.threads = a->common.resolved_threads();
    a->o.quiet = a->common.quiet;
    a->o.stop_after = a->stop_after;
    auto r = distill::distill(a->o);
    if (!r.interrupted) fmt::print("{}\n", r.model_dir);
  });
}

}  // namespace slm::cli
