// slm data self-instruct: new instruction data from a teacher endpoint, as Alpaca made its 52K.
#include <fmt/format.h>

#include <memory>

#include "cli/common.h"
#include "cli/teacher_flags.h"
#include "slm/distill/self_instruct.h"

namespace slm::cli {

void add_self_instruct_commands(CLI::App& app) {
  struct Args {
    Common common;
    distill::SelfInstructOptions o;
  };
  auto a = std::make_shared<Args>();
  CLI::App* data = app.get_subcommand("data");  // registered by data_cmd.cpp
  auto* cmd = data->add_subcommand("self-instruct", "Ask a teacher endpoint for new instruction data (Alpaca's self-instruct)");
  add_teacher_url(cmd, a->o.endpoint);
  cmd->get_option("--teacher-url")->required();
  cmd->get_option("--teacher-model")->required();
  cmd->add_option("--seed-tasks", a->o.seed_tasks, "seed tasks, JSONL in Alpaca's seed_tasks.jsonl format")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--count", a->o.count, "new tasks to keep")->capture_default_str()->check(in_range(1, kMaxCount));
  cmd->add_option("--examples", a->o.examples_per_prompt, "seed tasks shown in each prompt")
      ->capture_default_str()
      ->check(in_range(1, 20));
  cmd->add_option("--temperature", a->o.temperature, "the teacher's sampling temperature")
      ->capture_default_str()
      ->check(in_range(0, 10));
  cmd->add_option("--max-tokens", a->o.max_tokens, "tokens per reply at most")->capture_default_str()->check(in_range(1, 1e6));
  cmd->add_option("--rouge", a->o.rouge_threshold, "drop a task whose ROUGE-L to a kept one is above this")
      ->capture_default_str()
      ->check(in_range(0, 1));
  cmd->add_option("--max-rounds", a->o.max_rounds, "rounds of --concurrency requests at most (0: 10 + count/2)")
      ->capture_default_str()
      ->check(in_range(0, kMaxCount));
  cmd->add_option("--out", a->o.out, "Alpaca JSON: an array of {instruction, input, output}")->required();
  add_common(cmd, a->common);
  cmd->footer(
      "Each request shows --examples seed tasks and asks for a numbered list of new ones; a new task is\n"
      "kept when it parses, its instruction has 4 to 150 words, no banned word (image, graph, file,\n"
      "map, draw, video, audio, music, ...), and its ROUGE-L to every task kept so far is at most 0.7.\n"
      "Story-world seed tasks ship in data/seed_tasks.jsonl.\n\n"
      "Example:\n"
      "  slm data self-instruct --teacher-url http://127.0.0.1:8080/v1 --teacher-model big \\\n"
      "      --seed-tasks data/seed_tasks.jsonl --count 500 --out self_instruct.json\n"
      "then: slm finetune --base M --data self_instruct.json --out run");
  cmd->callback([a] {
    read_teacher_key(a->o.endpoint);
    a->o.seed = a->common.seed;
    a->o.quiet = a->common.quiet;
    auto st = distill::self_instruct(a->o);
    std::string dropped;
    for (const auto& [why, n] : st.dropped) dropped += fmt::format("{}{} {}", dropped.empty() ? "" : ", ", n, why);
    fmt::print(stderr, "kept {} of {} candidate tasks from {} requests ({} failed); dropped: {}\n", st.kept,
               st.candidates, st.requests, st.failed_requests, dropped.empty() ? "none" : dropped);
    fmt::print("{}\n", a->o.out);
  });
}

}  // namespace slm::cli
