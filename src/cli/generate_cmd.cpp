// slm generate and slm chat: text from a trained model.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "cli/common.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/infer/chat.h"
#include "slm/infer/generate.h"
#include "slm/infer/prompt_file.h"
#include "slm/infer/prompts.h"
#include "slm/model/model_files.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

using Loaded = model::LoadedModel;

Loaded load(const std::string& path) { return model::load_model_and_tokenizer(path); }

void add_sampling_options(CLI::App* cmd, infer::GenerateOptions& g) {
  cmd->add_option("--max-tokens", g.max_tokens, "tokens to generate at most")
      ->capture_default_str()
      ->check(in_range(1, 1 << 24));
  cmd->add_option("--temperature", g.sampling.temperature, "0: greedy")->capture_default_str()->check(in_range(0, 100));
  cmd->add_option("--top-k", g.sampling.top_k, "sample among the k most likely tokens (0: all)")
      ->capture_default_str()
      ->check(in_range(0, 1 << 30));
  cmd->add_option("--top-p", g.sampling.top_p, "sample among the most likely tokens holding this probability")
      ->capture_default_str()
      ->check(in_range(0, 1, Ends::open_low));
  cmd->add_option("--min-p", g.sampling.min_p, "drop tokens less than min-p times as likely as the best")
      ->capture_default_str()
      ->check(in_range(0, 1));
  cmd->add_option("--repetition-penalty", g.sampling.repetition_penalty, "> 1 makes repeating a token less likely")
      ->capture_default_str()
      ->check(in_range(0, 100, Ends::open_low));
  cmd->add_option("--stop", g.stop, "stop before this text (repeatable)");
  cmd->add_option_function<std::string>(
         "--quantize", [&g](const std::string& v) { g.q8 = v == "q8"; },
         "q8: int8 weights in blocks of 32 (faster decoding, about the same quality)")
      ->check(CLI::IsMember({"q8", "none"}));
  cmd->add_flag("--context-shift", g.context_shift,
                "when the context is full, drop the oldest half of the text and go on (default: stop)");
}

// Streams generated text to stdout as it becomes final.
void print_piece(const std::string& piece) {
  std::fwrite(piece.data(), 1, piece.size(), stdout);
  std::fflush(stdout);
}

void print_timing(const infer::GenerateResult& r, bool quiet) {
  if (r.finish == "context") fmt::print(stderr, "slm: note: stopped at the end of the model's context\n");
  if (quiet) return;
  fmt::print(stderr, "prompt: {} tokens, {:.0f} tokens/s | generated: {} tokens, {:.0f} tokens/s\n", r.prompt_tokens,
             r.prompt_tokens / std::max(1e-9, r.prompt_seconds), r.generated_tokens,
             r.generated_tokens / std::max(1e-9, r.generate_seconds));
}

void print_batch_timing(const std::vector<infer::GenerateResult>& results, bool quiet) {
  if (quiet || results.empty()) return;
  int total = 0;
  for (const auto& r : results) total += r.generated_tokens;
  const double s = std::max(1e-9, results[0].generate_seconds);
  fmt::print(stderr, "{} prompts, {} tokens generated together in {:.2f} s ({:.0f} tokens/s)\n", results.size(), total,
             results[0].generate_seconds, total / s);
}

void add_generate(CLI::App& app) {
  struct Args {
    Common common;
    std::string model, prompt, prompt_file, input, output, shots, instruction;
    int k = 3;
    bool raw = false;
    infer::GenerateOptions g;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a trained model");
  cmd->add_option("--model", a->model, "a model folder (config.json, model.safetensors, tokenizer.json) or a .gguf file")
      ->required()
      ->check(CLI::ExistingPath);
  auto* p = cmd->add_option("--prompt", a->prompt, "the text to continue (empty: a new story)");
  auto* pf = cmd->add_option("--prompt-file", a->prompt_file, "read the prompt from a file")->check(CLI::ExistingFile);
  auto* in = cmd->add_option("--input", a->input, "JSONL of prompts ({\"prompt\": ...}), decoded together")
                 ->check(CLI::ExistingFile);
  cmd->add_option("--output", a->output, "with --input: JSONL of {prompt, completion, tokens, finish}");
  cmd->add_option("--shots", a->shots, "few-shot: JSONL of {input, output} examples; the prompt is the query")
      ->check(CLI::ExistingFile);
  cmd->add_option("--k", a->k, "few-shot: examples to put before the query")
      ->capture_default_str()
      ->check(in_range(0, 10000));
  cmd->add_option("--instruction", a->instruction, "few-shot: a line that says what the task is");
  cmd->add_flag("--raw", a->raw,
                "continue the prompt as text even when the model is instruction-tuned (no template)");
  p->excludes(pf);
  in->excludes(p)->excludes(pf);
  add_sampling_options(cmd, a->g);
  add_common(cmd, a->common);
  cmd->footer(
      "Examples:\n"
      "  slm generate --model runs/q/pretrain/model --prompt 'Once upon a time'\n"
      "  slm generate --model M --temperature 0 --max-tokens 50 --stop '.'\n"
      "  slm generate --model M --input prompts.jsonl --output out.jsonl\n"
      "  slm generate --model M --shots shots.jsonl --k 3 --prompt 'a red ball'\n"
      "  slm generate --model runs/q/finetune/model --prompt 'Write a story about a cat.'\n"
      "A fine-tuned model folder (with prompt_template.json) wraps the prompt in its Alpaca template\n"
      "and prints the response only; --raw turns that off.\n"
      "Few-shot prompts read: [instruction]  Input: x1 / Output: y1  (blank line) ... Input: query / Output:");
  cmd->callback([a] {
    auto l = load(a->model);
    a->g.seed = a->common.seed;
    // A fine-tuned folder records its template: the prompt is then an instruction.
    const bool templated = !a->raw && a->shots.empty() && l.alpaca_template;
    if (!a->input.empty()) {  // a batch: every prompt decoded together
      if (a->output.empty()) throw CLI::RequiredError("--output (with --input)");
      auto results = infer::generate_prompt_file(*l.model, *l.tok, a->input, a->output, a->g, templated);
      print_batch_timing(results, a->common.quiet);
      return;
    }
    std::string prompt = a->prompt_file.empty() ? a->prompt : read_file(a->prompt_file);
    if (!a->shots.empty()) {
      prompt = infer::few_shot_prompt(infer::read_shots(a->shots), a->k, prompt, a->common.seed, a->instruction);
      a->g.stop.push_back(infer::kFewShotStop);
    }
    if (templated)
      prompt = infer::alpaca_prompt(prompt);
    else
      std::fwrite(prompt.data(), 1, prompt.size(), stdout);
    auto r = infer::generate(*l.model, *l.tok, prompt, a->g, print_piece);
    std::fputc('\n', stdout);
    std::fflush(stdout);  // the text before the timing line on a shared terminal
    print_timing(r, a->common.quiet);
  });
}

void add_chat(CLI::App& app) {
  struct Args {
    Common common;
    std::string model;
    infer::GenerateOptions g;
  };
  auto a = std::make_shared<Args>();
  a->g.sampling.temperature = 0.7f;
  auto* cmd = app.add_subcommand("chat", "Talk with an instruction-tuned model (Alpaca's template)");
  cmd->add_option("--model", a->model, "a model folder or a .gguf file")->required()->check(CLI::ExistingPath);
  add_sampling_options(cmd, a->g);
  add_common(cmd, a->common);
  cmd->footer("Type a message and press Enter. /reset forgets the conversation, /exit (or Ctrl-D) ends it.\n"
              "Works with piped input too: one message per line.\n"
              "Example:\n  slm chat --model runs/q/finetune/model");
  cmd->callback([a] {
    auto l = load(a->model);
    if (!l.alpaca_template)
      fmt::print(stderr, "slm: note: {} has no {}: it was not instruction-tuned, replies may wander\n", a->model,
                 tokenizer::kTemplateFile);
    a->g.seed = a->common.seed;
    infer::ChatSession chat(*l.model, *l.tok, a->g);
    const bool tty = ::isatty(0);
    std::string line;
    for (;;) {
      if (tty) std::fputs("> ", stdout), std::fflush(stdout);
      if (!std::getline(std::cin, line) || line == "/exit") break;
      if (line == "/reset") {
        chat.reset();
        if (tty) std::puts("(conversation forgotten)");
        continue;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      try {
        auto r = chat.reply(line, print_piece);
        std::fputc('\n', stdout);
        if (r.finish == "context") fmt::print(stderr, "slm: note: the reply reached the end of the context\n");
      } catch (const Error& e) {  // a message too long for the context: say so, keep chatting
        std::fprintf(stderr, "slm: error: %s\n", e.message().c_str());
      }
    }
  });
}

}  // namespace

void add_generate_commands(CLI::App& app) {
  add_generate(app);
  add_chat(app);
}

}  // namespace slm::cli
