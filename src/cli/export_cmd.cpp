// slm export gguf|hf: a trained model in the formats the ecosystem runs.
#include <fmt/format.h>

#include <memory>

#include "cli/common.h"
#include "slm/export/gguf_writer.h"
#include "slm/export/hf_export.h"
#include "slm/util/progress.h"

namespace slm::cli {

void add_export_commands(CLI::App& app) {
  auto* ex = app.add_subcommand("export", "Export a model: GGUF (llama.cpp, Ollama, LM Studio) or a Hugging Face folder");
  ex->require_subcommand(1);

  struct GgufArgs {
    std::string model, out;
    exporter::GgufExportOptions o;
  };
  auto g = std::make_shared<GgufArgs>();
  auto* gg = ex->add_subcommand("gguf", "Write a GGUF v3 file that llama.cpp loads");
  gg->add_option("--model", g->model, "a model folder")->required()->check(CLI::ExistingDirectory);
  gg->add_option("--out", g->out, "the .gguf file")->required();
  gg->add_option("--type", g->o.type, "weights: f32, f16 or q8_0 (norms stay f32)")
      ->check(CLI::IsMember({"f32", "f16", "q8_0"}))
      ->capture_default_str();
  gg->add_option("--name", g->o.name, "general.name (default: the folder's name)");
  gg->footer(
      "Examples:\n"
      "  slm export gguf --model runs/q/finetune/model --out story.gguf\n"
      "  slm export gguf --model M --type q8_0 --out story-q8_0.gguf\n"
      "Check with llama.cpp:  llama-cli -m story.gguf -p 'Once upon a time' -n 100 --temp 0\n"
      "Back into slm:         slm generate --model story.gguf --prompt 'Once upon a time'");
  gg->callback([g] {
    size_t n = exporter::export_gguf(g->model, g->out, g->o);
    fmt::print("{} ({})\n", g->out, human_bytes(double(n)));
  });

  struct HfArgs {
    std::string model, out;
  };
  auto h = std::make_shared<HfArgs>();
  auto* hf = ex->add_subcommand("hf", "Write a Hugging Face folder that transformers loads");
  hf->add_option("--model", h->model, "a model folder or a .gguf file")->required()->check(CLI::ExistingPath);
  hf->add_option("--out", h->out, "the folder to write")->required();
  hf->footer(
      "Example:\n"
      "  slm export hf --model runs/q/finetune/model --out story-hf\n"
      "Check with transformers:\n"
      "  python3 -c \"from transformers import AutoModelForCausalLM as M, AutoTokenizer as T; "
      "t=T.from_pretrained('story-hf'); m=M.from_pretrained('story-hf'); "
      "print(t.decode(m.generate(**t('Once upon a time', return_tensors='pt'), max_new_tokens=50)[0]))\"");
  hf->callback([h] {
    exporter::export_hf(h->model, h->out);
    fmt::print("{}\n", h->out);
  });
}

}  // namespace slm::cli
