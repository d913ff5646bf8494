// slm quantize: an int8 copy of a model that generate, chat and eval run directly.
#include <fmt/format.h>

#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "slm/model/quantized_files.h"
#include "slm/util/progress.h"

namespace slm::cli {

void add_quantize_commands(CLI::App& app) {
  struct Args {
    std::string model, type = "q8", out;
  };
  auto a = std::make_shared<Args>();
  auto* q = app.add_subcommand("quantize", "Write an int8 copy of a model folder or .gguf (about 3.6x smaller)");
  q->add_option("--model", a->model, "a model folder or a .gguf file")->required()->check(CLI::ExistingPath);
  q->add_option("--type", a->type, "q8: int8 weights in blocks of 32, a float scale each (as GGUF's Q8_0)")
      ->check(CLI::IsMember({"q8"}))
      ->capture_default_str();
  q->add_option("--out", a->out, "the folder to write (config.json, tokenizer.json, model.q8.safetensors)")->required();
  q->footer(
      "Examples:\n"
      "  slm quantize --model runs/q/finetune/model --out story-q8\n"
      "  slm quantize --model story.gguf --type q8 --out story-q8\n"
      "slm generate, chat and eval run the folder on the int8 path without --quantize q8.");
  q->callback([a] {
    const int64_t n = model::quantize_model(a->model, a->out);
    fmt::print("{} ({} of weights)\n", a->out, human_bytes(double(n)));
  });
}

}  // namespace slm::cli
