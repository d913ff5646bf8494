// slm align grpo (reinforcement learning with rule rewards), slm align dpo (preferences),
// slm align preferences (pairs ranked by the rules) and slm align rft (rejection-sampled data).
#include <fmt/format.h>

#include <memory>

#include "cli/common.h"
#include "cli/train_flags.h"
#include "slm/align/dpo.h"
#include "slm/align/grpo.h"
#include "slm/align/preferences.h"
#include "slm/align/rejection.h"
#include "slm/train/config_file.h"

namespace slm::cli {

namespace {


// What every alignment command shares: the base, the run folder, the train section
// (--config, --set, --max-steps), resume, stop-after and the before/after evaluation.
struct RunArgs {
  Common common;
  std::string config;
  std::vector<std::string> sets;
  int64_t max_steps = 0;
  LoraFlags lora;
  align::AlignRun run;
};

void add_run_flags(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("--base", a.run.base, "the model to start from (a folder with tokenizer.json); also the frozen reference")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--out", a.run.out_dir, "the run folder: checkpoints/, model/, metrics.jsonl, loss.svg, eval/")->required();
  cmd->add_option("--config", a.config, "a JSON file with a 'train' section")->capture_default_str();
  add_set_option(cmd, a.sets, "override a field: train.lr=1e-4 (repeatable)");
  add_dtype_option(cmd);
  add_step_options(cmd, a.max_steps, a.run.stop_after);
  cmd->add_option("--resume", a.run.resume, "continue from a checkpoint folder, or a run folder's latest checkpoint");
  cmd->add_option("--eval", a.run.eval, "held-out records of slm data instruct: base and tuned model compared after")
      ->check(CLI::ExistingFile);
  cmd->add_option("--eval-limit", a.run.eval_limit, "with --eval: records at most (0: all)")
      ->capture_default_str()
      ->check(in_range(0, kMaxCount));
  cmd->add_option("--eval-stories", a.run.eval_stories, "story prompts for the before/after story metrics (0: none)")
      ->capture_default_str()
      ->check(in_range(0, 10000));
  add_lora_options(cmd, a.lora);
  add_common(cmd, a.common);
}

// The run as parsed: the train section resolved, threads and quiet from the shared flags.
align::AlignRun resolve(const RunArgs& a, const CLI::App* cmd) {
  align::AlignRun run = a.run;
  const auto sets = overrides(a.sets, a.max_steps, cmd, a.common.seed);
  run.train = train::load_run_config(a.config, sets, kPresetDirs, /*allow_model=*/false).train;
  run.threads = a.common.resolved_threads();
  run.quiet = a.common.quiet;
  run.lora = a.lora.to_config();
  return run;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  for (size_t b = 0; b < s.size();) {
    size_t e = s.find(',', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

void print_result(const align::AlignResult& r) {
  if (r.train.interrupted) return;
  if (!r.comparison.empty()) fmt::print(stderr, "{}", r.comparison);
  fmt::print("{}\n", r.train.model_dir);
}

void add_grpo(CLI::App* align) {
  struct Args : RunArgs {
    std::string rewards, tasks, scale = "group", filter_rules;
    align::GrpoOptions o;
  };
  auto a = std::make_shared<Args>();
  a->config = "grpo";
  auto* cmd = align->add_subcommand("grpo", "Reinforcement learning with rule rewards (GRPO, as DeepSeekMath)");
  add_run_flags(cmd, *a);
  cmd->add_option("--prompts", a->o.prompts, "requests: records of slm data instruct (JSONL)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--tasks", a->tasks, "only these tasks' records, comma-separated (e.g. write_words,who)");
  cmd->add_option("--rewards", a->rewards, "a JSON reward config: {\"weights\": {rule: w}, \"gates\": [...], ...}")
      ->check(CLI::ExistingFile);
  auto& g = a->o.grpo;
  cmd->add_option("--group", g.group, "G: completions sampled per request")->capture_default_str()->check(in_range(2, 1024));
  cmd->add_option("--max-tokens", g.max_tokens, "a completion's length at most")
      ->capture_default_str()
      ->check(in_range(1, 1e6));
  cmd->add_option("--temperature", g.temperature, "sampling temperature of the group")
      ->capture_default_str()
      ->check(in_range(0, 10, Ends::open_low));
  cmd->add_option("--top-k", g.top_k, "sample from the k most likely tokens (0: all)")
      ->capture_default_str()
      ->check(in_range(0, 1e9));
  cmd->add_option("--clip", g.clip_eps, "PPO clip range epsilon")->capture_default_str()->check(in_range(0, 10, Ends::open_low));
  cmd->add_option("--beta", g.beta, "weight of the KL penalty to the base model")->capture_default_str()->check(in_range(0, 1e3));
  cmd->add_option("--updates-per-batch", g.updates_per_batch, "optimizer steps on each batch of completions (mu)")
      ->capture_default_str()
      ->check(in_range(1, 64));
  cmd->add_option("--scale-rewards", a->scale, "divide r - group mean by the group's std (group), the batch's (batch) or nothing (none, Dr. GRPO)")
      ->capture_default_str()
      ->check(CLI::IsMember({"group", "batch", "none"}));
  auto* filter = cmd->add_option("--filter-groups", g.filter_std,
                  "dynamic sampling (DAPO): replace groups whose rewards' std is at most this by more requests' groups")
      ->check(in_range(0, 1e9));
  cmd->add_option("--filter-rules", a->filter_rules,
                  "with --filter-groups: compare the scores of the first of these rules that applies (e.g. words,answer), not the total")
      ->needs(filter);
  cmd->add_option("--max-rounds", g.max_rounds, "with --filter-groups: rounds of requests sampled a batch at most")
      ->capture_default_str()
      ->check(in_range(1, 64))
      ->needs(filter);
  cmd->add_option("--word-credit", g.word_credit,
                  "each token of a required word's first counted use gets this advantage of its own (0: off)")
      ->capture_default_str()
      ->check(in_range(0, 1e3));
  cmd->add_option("--flaw-debit", g.flaw_debit,
                  "each token of a misspelled, doubled or looping word gets this penalty as an advantage of its own (0: off)")
      ->capture_default_str()
      ->check(in_range(0, 1e3));
  auto* ptx = cmd->add_option("--ptx-data", g.ptx.data,
                  "PPO-ptx: each micro-batch also trains on windows of these shards (a folder of slm data pack)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--ptx-coef", g.ptx.coef, "with --ptx-data: the weight of their loss (--ptx-loss)")
      ->capture_default_str()
      ->check(in_range(0, 1e3, Ends::open_low))
      ->needs(ptx);
  cmd->add_option("--ptx-batch", g.ptx.batch, "with --ptx-data: windows a micro-batch")
      ->capture_default_str()
      ->check(in_range(1, 4096))
      ->needs(ptx);
  cmd->add_option("--ptx-context", g.ptx.context, "with --ptx-data: a window's tokens (0: the model's context)")
      ->capture_default_str()
      ->check(in_range(0, 1e6))
      ->needs(ptx);
  cmd->add_option("--ptx-loss", g.ptx.loss,
                  "with --ptx-data: next-token (the shards' text, PPO-ptx) or kl (the teacher's distribution on it, "
                  "as Learning without Forgetting)")
      ->capture_default_str()
      ->check(CLI::IsMember({"next-token", "kl"}))
      ->needs(ptx);
  cmd->add_option("--ptx-teacher", g.ptx.teacher,
                  "with --ptx-loss kl: the model whose distribution the windows keep (default: --base)")
      ->check(CLI::ExistingDirectory)
      ->needs(ptx);
  cmd->add_option("--story-share", g.story_share,
                  "this share of the requests are plain story beginnings to continue, scored by the story rules")
      ->capture_default_str()
      ->check(in_range(0, 1, Ends::open_high));
  cmd->add_option("--sample-every", g.sample_every, "write one group's completions to samples.jsonl every N batches")
      ->capture_default_str()
      ->check(in_range(0, kMaxCount));
  cmd->footer(
      "Each step samples --group completions for each of train.batch_size requests, scores them with\n"
      "the rule rewards (required words, features, answers, length, repetition, child vocabulary,\n"
      "grammar, end-of-text; an LLM judge if configured), and trains on the advantage within each\n"
      "group with PPO's clipped ratio and a KL penalty to the base model. metrics.jsonl logs the\n"
      "reward by rule, the KL and the lengths; samples.jsonl shows what the reward paid for.\n"
      "--ptx-data adds pre-training windows to every step (InstructGPT's PPO-ptx), which keeps\n"
      "the plain stories from drifting while the requests are optimized; with --ptx-loss kl they\n"
      "keep the base's (or --ptx-teacher's) distribution on that text instead of the text itself.\n\n"
      "Examples:\n"
      "  slm align grpo --base runs/q/finetune/model --prompts runs/q/sft/train.jsonl --out runs/q/grpo\n"
      "  slm align grpo --base M --prompts P --tasks write_words,who --group 8 --max-steps 60 \\\n"
      "      --eval runs/q/sft/heldout.jsonl --out run\n"
      "  slm align grpo --base M --prompts P --lora 8 --lora-dropout 0.05 --out run   # adapters only\n"
      "  slm align grpo --base M --prompts P --scale-rewards none --filter-groups 0.05 --out run\n"
      "      # Dr. GRPO's advantages, and DAPO's dynamic sampling: only groups that differ\n\n"
      "With --lora the base stays frozen and is also the reference (no second copy of the weights);\n"
      "model/ is then a PEFT adapter folder: slm lora merge folds it into the base.");
  cmd->callback([a, cmd] {
    a->o.run = resolve(*a, cmd);
    if (!a->rewards.empty()) a->o.rewards = align::RewardConfig::from_file(a->rewards);
    a->o.tasks = split_commas(a->tasks);
    a->o.grpo.scale = align::parse_reward_scale(a->scale);
    a->o.grpo.filter_rules = split_commas(a->filter_rules);
    print_result(align::grpo(a->o));
  });
}

void add_dpo(CLI::App* align) {
  struct Args : RunArgs {
    std::string loss = "sigmoid";
    align::DpoOptions o;
  };
  auto a = std::make_shared<Args>();
  a->config = "dpo";
  auto* cmd = align->add_subcommand("dpo", "Learn from preferred and rejected responses (DPO, or IPO)");
  add_run_flags(cmd, *a);
  cmd->add_option("--data", a->o.data, "preferences: {\"prompt\", \"chosen\", \"rejected\"} per line (slm feedback export, slm align preferences)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--val-data", a->o.val_data,
                  "held-out preferences: their DPO loss (val_loss), accuracy and margin, and the share the policy finds "
                  "likelier outright (val_likelier), every train.eval_every steps")
      ->check(CLI::ExistingFile);
  cmd->add_option("--beta", a->o.beta, "how far from the reference the policy may move (smaller: further)")
      ->capture_default_str()
      ->check(in_range(0, 1e3, Ends::open_low));
  cmd->add_option("--loss", a->loss, "sigmoid (DPO) or ipo (IPO: the margin regressed to 1/(2 beta))")
      ->capture_default_str()
      ->check(CLI::IsMember({"sigmoid", "ipo"}));
  cmd->add_option("--nll-weight", a->o.nll_weight,
                  "RPO: add this times the chosen response's mean negative log-likelihood to each pair's loss, "
                  "so that DPO does not lower the chosen response too (0: plain DPO/IPO)")
      ->capture_default_str()
      ->check(in_range(0, 1e3));
  cmd->footer(
      "Each prompt is wrapped in Alpaca's template; the chosen and the rejected response follow it,\n"
      "each with <|endoftext|>. The reference (the base, frozen) is run once over every pair.\n"
      "metrics.jsonl logs the loss, the margin, the accuracy (the share of pairs whose margin is\n"
      "positive), the implicit rewards of the chosen and rejected responses and the chosen\n"
      "response's mean negative log-likelihood a token (chosen_nll).\n\n"
      "Examples:\n"
      "  slm feedback export --db ratings.db --out fb && slm align dpo --base M --data fb/preferences.jsonl --out run\n"
      "  slm align preferences --model M --prompts sft/train.jsonl --out prefs.jsonl\n"
      "  slm align dpo --base M --data prefs.jsonl --beta 0.1 --eval sft/heldout.jsonl --out run\n"
      "  slm align dpo --base M --data prefs.jsonl --lora 8 --lora-dropout 0.05 --out run   # adapters only\n\n"
      "With --lora the base stays frozen and is also the reference (no second copy of the weights);\n"
      "model/ is then a PEFT adapter folder: slm lora merge folds it into the base.");
  cmd->callback([a, cmd] {
    a->o.run = resolve(*a, cmd);
    a->o.ipo = a->loss == "ipo";
    print_result(align::dpo(a->o));
  });
}

void add_preferences(CLI::App* align) {
  struct Args {
    Common common;
    std::string rewards, tasks;
    align::PreferenceOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = align->add_subcommand("preferences", "Preference pairs from a model's own completions, ranked by the rule rewards");
  cmd->add_option("--model", a->o.model, "the model that writes the completions (a folder; not needed with --rejected swap-words)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--prompts", a->o.prompts, "requests: records of slm data instruct (JSONL)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->o.out, "the preferences file (JSONL)")->required();
  cmd->add_option("--tasks", a->tasks, "only these tasks' records, comma-separated");
  cmd->add_option("--rewards", a->rewards, "a JSON reward config (as slm align grpo)")->check(CLI::ExistingFile);
  cmd->add_option("--group", a->o.group, "completions per request (at least 2 with --chosen model)")
      ->capture_default_str()
      ->check(in_range(1, 1024));
  cmd->add_option("--chosen", a->o.chosen,
                  "over the worst completion, model: the best one; reference: the record's own output (self-play "
                  "pairs, SPIN); edited: the worst one with words of its own swapped for the required words it left "
                  "out (a minimal pair at the model's own places; writing requests)")
      ->capture_default_str()
      ->check(CLI::IsMember({"model", "reference", "edited"}));
  cmd->add_option("--rejected", a->o.rejected,
                  "sample: the worst of the completions; swap-words (with --chosen reference): the reference with "
                  "its required words swapped for words of their kind the request did not ask for, a minimal pair "
                  "(writing requests only; nothing is sampled)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sample", "swap-words"}));
  cmd->add_flag("--first-uses", a->o.first_uses,
                "with --chosen edited: both responses end where the last edited word is first used (a partial pair, "
                "compared without end-of-text): the preference is for the choice of words alone");
  cmd->add_option("--max-tokens", a->o.max_tokens, "a completion's length at most")->capture_default_str()->check(in_range(1, 1e6));
  cmd->add_option("--temperature", a->o.temperature, "sampling temperature")->capture_default_str()->check(in_range(0, 10, Ends::open_low));
  cmd->add_option("--limit", a->o.limit, "requests at most (0: all)")->capture_default_str()->check(in_range(0, kMaxCount));
  cmd->add_option("--min-gap", a->o.min_gap, "a pair only when best and worst rewards differ by this much")
      ->capture_default_str()
      ->check(in_range(0, 1));
  add_common(cmd, a->common);
  cmd->callback([a] {
    a->o.seed = a->common.seed, a->o.threads = a->common.resolved_threads(), a->o.quiet = a->common.quiet;
    if (!a->rewards.empty()) a->o.rewards = align::RewardConfig::from_file(a->rewards);
    a->o.tasks = split_commas(a->tasks);
    size_t n = align::rank_preferences(a->o);
    fmt::print(stderr, "{} preference pairs\n", n);
    fmt::print("{}\n", a->o.out);
  });
}

void add_rft(CLI::App* align) {
  struct Args {
    Common common;
    std::string rewards, tasks, require = "words,eot";
    bool allow_flaws = false;
    align::RejectionOptions o;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = align->add_subcommand(
      "rft", "Rejection-sampling fine-tuning data: each request's best sampled completions that pass the rules and have no flawed word");
  cmd->add_option("--model", a->o.model, "the model that writes the completions (a folder)")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--prompts", a->o.prompts, "requests: records of slm data instruct (JSONL)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->o.out, "the kept records (JSONL, slm data instruct's fields; slm finetune --data reads it)")->required();
  cmd->add_option("--tasks", a->tasks, "only these tasks' records, comma-separated");
  cmd->add_option("--rewards", a->rewards, "a JSON reward config (as slm align grpo)")->check(CLI::ExistingFile);
  cmd->add_option("--group", a->o.group, "completions sampled a request")->capture_default_str()->check(in_range(1, 1024));
  cmd->add_option("--keep", a->o.keep, "passing completions kept a request at most, best reward first")
      ->capture_default_str()
      ->check(in_range(1, 1024));
  cmd->add_option("--batch", a->o.batch, "requests a thread decodes together (each --group times; each thread its own batch)")->capture_default_str()->check(in_range(1, 4096));
  cmd->add_option("--require", a->require,
                  "rules that must score 1 where they apply, comma-separated (words: every required word; eot: ended by "
                  "itself; answer: the exact answer; features: every feature)")
      ->capture_default_str();
  cmd->add_option("--min-reward", a->o.min_reward, "and the total reward at least this")->capture_default_str()->check(in_range(0, 1));
  cmd->add_flag("--allow-flaws", a->allow_flaws, "keep completions with a misspelled, doubled or looping word (not checked)");
  cmd->add_option("--max-tokens", a->o.max_tokens, "a completion's length at most")->capture_default_str()->check(in_range(1, 1e6));
  cmd->add_option("--temperature", a->o.temperature, "sampling temperature")->capture_default_str()->check(in_range(0, 10, Ends::open_low));
  cmd->add_option("--top-k", a->o.top_k, "sample from the k most likely tokens (0: all)")->capture_default_str()->check(in_range(0, 1e6));
  cmd->add_option("--limit", a->o.limit, "requests at most (0: all)")->capture_default_str()->check(in_range(0, kMaxCount));
  cmd->add_option("--guide", a->o.guide,
                  "guide the sampling to the required words: +B on the logit of an unwritten word's first token (0: off)")
      ->capture_default_str()
      ->check(in_range(0, 100));
  cmd->add_option("--guide-next", a->o.guide_next,
                  "and +C on the next token of a word already started, so it is finished as spelled (default 2B)")
      ->check(in_range(0, 200));
  add_common(cmd, a->common);
  cmd->footer(
      "\nThen fine-tune on the kept records, mixed with other tasks' records so they are kept too\n"
      "(docs/alignment.md, item 18, measured these settings):\n"
      "  slm align rft --model M --prompts sft/train.jsonl --tasks write_words,write_features --group 8 --keep 2 \\\n"
      "    --temperature 0.6 --top-k 40 --max-tokens 400 --out rft.jsonl\n"
      "  cat rft.jsonl others.jsonl > mix.jsonl\n"
      "  slm finetune --base M --data mix.jsonl --lora 16 --set train.lr=1e-3 --words-weight 10 --out run");
  cmd->callback([a] {
    a->o.seed = a->common.seed, a->o.threads = a->common.resolved_threads(), a->o.quiet = a->common.quiet;
    if (!a->rewards.empty()) a->o.rewards = align::RewardConfig::from_file(a->rewards);
    a->o.tasks = split_commas(a->tasks);
    a->o.require = split_commas(a->require);
    a->o.no_flaws = !a->allow_flaws;
    const auto st = align::rejection_sample(a->o);
    std::string failed;
    for (const auto& [why, n] : st.failed) failed += fmt::format("{}{} {}", failed.empty() ? "" : ", ", why, n);
    fmt::print(stderr, "{} records kept from {} samples of {} requests ({} requests with one; mean reward {:.3f}, kept {:.3f}); failed: {}\n",
               st.kept, st.samples, st.requests, st.requests_kept, st.mean_reward, st.mean_kept_reward,
               failed.empty() ? "none" : failed);
    fmt::print("{}\n", a->o.out);
  });
}

}  // namespace

void add_align_commands(CLI::App& app) {
  auto* align = app.add_subcommand("align", "Make a tuned model follow requests: GRPO with rule rewards, DPO, rejection-sampled data");
  align->require_subcommand(1);
  add_grpo(align);
  add_dpo(align);
  add_preferences(align);
  add_rft(align);
}

}  // namespace slm::cli
