// slm generate: text from a trained model.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "slm/infer/generate.h"
#include "slm/model/checkpoint_io.h"
#include "slm/util/error.h"

namespace slm::cli {

void add_generate_commands(CLI::App& app) {
  struct Args {
    Common common;
    std::string model, prompt;
    infer::GenerateOptions g;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a trained model");
  cmd->add_option("--model", a->model, "a model folder (config.json, model.safetensors, tokenizer.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--prompt", a->prompt, "the text to continue (empty: a new story)");
  cmd->add_option("--max-tokens", a->g.max_tokens, "tokens to generate at most")->capture_default_str();
  cmd->add_option("--temperature", a->g.sampling.temperature, "0: greedy")->capture_default_str();
  cmd->add_option("--top-k", a->g.sampling.top_k, "sample among the k most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--top-p", a->g.sampling.top_p, "sample among the most likely tokens holding this probability")
      ->capture_default_str();
  add_common(cmd, a->common);
  cmd->footer("Examples:\n  slm generate --model runs/q/pretrain/model --prompt 'Once upon a time'\n"
              "  slm generate --model runs/q/pretrain/model --temperature 0 --max-tokens 50");
  cmd->callback([a] {
    namespace fs = std::filesystem;
    std::string tok_path = (fs::path(a->model) / "tokenizer.json").string();
    if (!fs::exists(tok_path)) throw Error("no tokenizer.json in the model folder", a->model);
    auto tok = tokenizer::Tokenizer::load(tok_path);
    auto m = model::load_model(a->model);
    a->g.seed = a->common.seed;
    std::fwrite(a->prompt.data(), 1, a->prompt.size(), stdout);
    auto r = infer::generate(*m, tok, a->prompt, a->g, [&](const std::string& piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    });
    std::fputc('\n', stdout);
    if (r.context_full)
      fmt::print(stderr, "slm: note: stopped at the end of the model's context ({} tokens)\n", m->config().context);
    if (!a->common.quiet)
      fmt::print(stderr, "prompt: {} tokens, {:.0f} tokens/s | generated: {} tokens, {:.0f} tokens/s\n",
                 r.prompt_tokens, r.prompt_tokens / std::max(1e-9, r.prompt_seconds), r.generated_tokens,
                 r.generated_tokens / std::max(1e-9, r.generate_seconds));
  });
}

}  // namespace slm::cli
