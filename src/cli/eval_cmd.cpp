// slm eval ...: how good is a model.
#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <sstream>
#include <vector>

#include "cli/common.h"
#include "slm/eval/instruct_eval.h"
#include "slm/eval/suite.h"
#include "slm/util/atomic_file.h"

namespace slm::cli {

namespace {

using nlohmann::json;

void add_instruct(CLI::App* eval) {
  struct Args {
    Common common;
    std::string model, base, data, out;
    eval::InstructEvalOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = eval->add_subcommand("instruct", "Instruction following on held-out records of slm data instruct");
  cmd->add_option("--model", a->model, "the model folder (or .gguf) to evaluate")->required()->check(CLI::ExistingPath);
  cmd->add_option("--base", a->base, "a second model (e.g. before fine-tuning) to show beside it")
      ->check(CLI::ExistingPath);
  cmd->add_option("--data", a->data, "held-out records (JSONL from slm data instruct)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "write the scores and every output as JSON here");
  cmd->add_option("--limit", a->o.limit, "records at most (0: all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", a->o.batch, "prompts decoded together")->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_flag("--unquote-words", a->o.unquote_words,
                "take the quote marks off the required words of each request first (a diagnostic: how much of a\n"
                "miss on quoted words is the quotes; the report's unquoted_requests counts the requests changed)");
  add_common(cmd, a->common);
  cmd->footer(
      "Questions: exact match and contains-answer; writing tasks: required words used and features\n"
      "shown; summaries, continuations, morals, endings: ROUGE-L to the reference. Greedy decoding.\n\n"
      "Examples:\n"
      "  slm eval instruct --model runs/q/finetune/model --base runs/q/pretrain/model --data runs/q/sft/heldout.jsonl\n"
      "  slm eval instruct --model M --data heldout.jsonl --limit 100 --out scores.json\n"
      "  slm eval instruct --model M --data heldout.jsonl --limit 400 --unquote-words   # the same requests, no quotes");
  cmd->callback([a] {
    a->o.quiet = a->common.quiet;
    auto c = eval::compare_instruct(a->model, a->base, a->data, a->o);
    fmt::print("{}", c.table);
    if (c.skipped) fmt::print(stderr, "slm: note: {} record(s) skipped: the prompt does not fit the context\n", c.skipped);
    if (a->o.unquote_words)
      fmt::print(stderr, "slm: note: {} request(s) asked without the quote marks around their words\n",
                 c.report["unquoted_requests"].get<int>());
    if (!a->out.empty()) write_file_atomic(a->out, c.report.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  });
}

// The options every part of slm eval shares, and how they fill SuiteOptions.
struct EvalArgs {
  Common common;
  std::string model, out = "eval", data, train_text, tasks, shots_from, judge_url, judge_model, judge_cache;
  std::vector<std::string> compare;
  bool has_compare = false;  // slm eval itself, not one of its parts
  std::string ks = "0,1,3";
  eval::SuiteOptions o;
};

// Adds the shared options; returns --model's option.
CLI::Option* add_suite_options(CLI::App* cmd, EvalArgs& a) {
  auto* m = cmd->add_option("--model", a.model, "the model folder or a .gguf file")->check(CLI::ExistingPath);
  cmd->add_option("--out", a.out, "the report folder: report.json, report.html")->capture_default_str();
  cmd->add_option("--data", a.data, "loss: a shards folder (its val_*.bin), a .bin shard, or a text/JSONL file");
  cmd->add_option("--stories", a.o.stories, "stories: beginnings to continue, and as many requests")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  cmd->add_option("--story-tokens", a.o.story_tokens, "stories: tokens each at most")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--train-text", a.train_text, "stories: the training corpus, for the share of new 4-grams")
      ->check(CLI::ExistingFile);
  cmd->add_option("--tasks", a.tasks, "few-shot: JSONL {context, choices, label} or HellaSwag (default: built-in)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--shots-from", a.shots_from, "few-shot: the tasks' train split, where K-shot examples come from")
      ->check(CLI::ExistingFile);
  cmd->add_option("--k", a.ks, "few-shot: the K values, comma-separated")->capture_default_str();
  cmd->add_option("--items", a.o.mc_items, "few-shot: built-in items of each task")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  cmd->add_option("--judge-url", a.judge_url, "an OpenAI-compatible API base, e.g. http://127.0.0.1:8080/v1");
  cmd->add_option("--judge-model", a.judge_model, "the judge model's name")->capture_default_str();
  cmd->add_option("--judge-concurrency", a.o.judge.concurrency, "judge requests in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  cmd->add_option("--judge-attempts", a.o.judge.attempts, "tries per story (429, 5xx, malformed replies)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--judge-cache", a.judge_cache, "the judgment cache (default: OUT/judge_cache.jsonl)");
  add_common(cmd, a.common);
  return m;
}

eval::SuiteOptions suite_options(EvalArgs& a) {
  eval::SuiteOptions o = a.o;
  o.loss_data = a.data;
  o.train_text = a.train_text;
  o.tasks = a.tasks;
  o.shots_from = a.shots_from;
  o.seed = a.common.seed;
  o.quiet = a.common.quiet;
  o.ks.clear();
  std::stringstream ss(a.ks);
  for (std::string k; std::getline(ss, k, ',');) {
    try {
      size_t used = 0;
      int v = std::stoi(k, &used);
      if (used != k.size() || v < 0) throw std::invalid_argument(k);
      o.ks.push_back(v);
    } catch (const std::exception&) {
      throw CLI::ValidationError("--k " + a.ks, "expected non-negative integers separated by commas, e.g. 0,1,3");
    }
  }
  o.judge.url = a.judge_url;
  o.judge.model = a.judge_model;
  if (const char* key = std::getenv("SLM_JUDGE_API_KEY")) o.judge.api_key = key;
  o.judge.cache_path = a.judge_cache;  // empty: OUT/judge_cache.jsonl (evaluate_and_report)
  if (!o.judge.url.empty() && o.judge.model.empty()) throw CLI::RequiredError("--judge-model (with --judge-url)");
  return o;
}

void run_and_report(EvalArgs& a, const eval::SuiteOptions& o) {
  std::vector<std::string> dirs = a.compare.empty() ? std::vector<std::string>{a.model} : a.compare;
  if (dirs.size() == 1 && dirs[0].empty()) dirs.clear();
  if (dirs.empty() && o.story_text.empty()) throw CLI::RequiredError(a.has_compare ? "--model (or --compare A B)" : "--model");
  fmt::print("report: {}\n", eval::evaluate_and_report(dirs, o, a.out));
}

// A part of slm eval (loss, stories, ...) on its own: select turns the other parts off.
CLI::App* add_part(CLI::App* eval, const char* name, const char* help, void (*select)(eval::SuiteOptions&),
                   const char* footer, std::shared_ptr<EvalArgs> a = std::make_shared<EvalArgs>()) {
  auto* cmd = eval->add_subcommand(name, help);
  add_suite_options(cmd, *a);
  cmd->footer(footer);
  cmd->callback([a, select] {
    auto o = suite_options(*a);
    select(o);
    run_and_report(*a, o);
  });
  return cmd;
}

// slm eval stories: also on the user's own beginnings (--prompts) or stories (--text).
void add_stories(CLI::App* eval) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = add_part(eval, "stories", "Story metrics over stories the model writes, or over a file of stories",
           [](eval::SuiteOptions& o) { o.do_loss = o.do_fewshot = false, o.judge.url.clear(); },
           "Age (child vocabulary, Flesch-Kincaid, sentence length), grammar (Hunspell, unfinished\n"
           "sentences, doubled words, a/an), consistency (pronouns), diversity (distinct-n, self-BLEU,\n"
           "new 4-grams with --train-text), repetition, and required words/features for requests.\n"
           "--text scores stories someone wrote, without a model: one per line, JSONL with a 'text' or\n"
           "'story' field, or text with <|endoftext|> between stories (the form is detected and said).\n"
           "--prompts: beginnings of your own, JSONL {\"prompt\": ...} or a YAML list ('- Once upon ...').\n"
           "Examples:\n  slm eval stories --model M --stories 50 --train-text runs/q/data/train.jsonl\n"
           "  slm eval stories --text my_stories.txt --out eval_mine\n"
           "  slm eval stories --model M --prompts beginnings.yaml",
           a);
  auto* text = cmd->add_option("--text", a->o.story_text, "stories someone wrote, to score without a model")
                   ->check(CLI::ExistingFile);
  auto* prompts = cmd->add_option("--prompts", a->o.story_prompts, "story beginnings of your own for the model to continue")
                      ->check(CLI::ExistingFile);
  text->excludes(cmd->get_option("--model"))->excludes(prompts);
}

// Re-renders report.html from report.json files (one or several runs side by side).
void add_report(CLI::App* eval) {
  struct Args {
    std::vector<std::string> from;
    std::string out;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = eval->add_subcommand("report", "Render report.html again from report.json files, side by side");
  cmd->add_option("--from", a->from, "report.json files (repeatable)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "the report folder")->required();
  cmd->footer("Example:\n  slm eval report --from runs/a/eval/report.json --from runs/b/eval/report.json --out both");
  cmd->callback([a] { fmt::print("report: {}\n", eval::merge_reports(a->from, a->out)); });
}

}  // namespace

void add_eval_commands(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  a->has_compare = true;
  auto* eval = app.add_subcommand("eval", "Evaluate a model: loss, story metrics, few-shot, LLM judge; a report to look at");
  add_suite_options(eval, *a);
  eval->add_option("--compare", a->compare, "two (or more) model folders side by side in one report")->expected(2, 4);
  eval->require_subcommand(0, 1);
  eval->footer(
      "With no part named, runs them all (the judge when --judge-url is given) and writes\n"
      "OUT/report.json and OUT/report.html. Parts alone: slm eval loss|stories|fewshot|judge|instruct.\n"
      "The judge's key comes from SLM_JUDGE_API_KEY.\n\n"
      "Examples:\n"
      "  slm eval --model runs/q/finetune/model --out runs/q/eval\n"
      "  slm eval --compare runs/q/pretrain/model runs/q/finetune/model --out runs/q/compare\n"
      "  slm eval judge --model M --judge-url http://127.0.0.1:8080/v1 --judge-model llama-3-8b-instruct\n"
      "  slm eval fewshot --model M --tasks hellaswag_val.jsonl --k 0,1,5");
  add_part(eval, "loss", "Loss and perplexity on held-out tokens", [](eval::SuiteOptions& o) { o.do_stories = o.do_fewshot = false; },
           "Example:\n  slm eval loss --model M --data runs/q/shards");
  add_stories(eval);
  add_part(eval, "fewshot", "Multiple-choice tasks, zero- to K-shot", [](eval::SuiteOptions& o) { o.do_loss = o.do_stories = false; },
           "Example:\n  slm eval fewshot --model M --k 0,1,3,5");
  add_part(eval, "judge", "Stories graded by an LLM judge (TinyStories' rubric)",
           [](eval::SuiteOptions& o) {
             if (o.judge.url.empty()) throw CLI::RequiredError("--judge-url");
             o.do_loss = o.do_fewshot = false;
           },
           "Example:\n  slm eval judge --model M --judge-url http://127.0.0.1:11434/v1 --judge-model llama3");
  add_instruct(eval);
  add_report(eval);
  eval->callback([a, eval] {
    if (!eval->get_subcommands().empty()) return;  // a part ran on its own
    run_and_report(*a, suite_options(*a));
  });
}

}  // namespace slm::cli
