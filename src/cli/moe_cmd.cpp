// slm moe upcycle: a dense model folder into a mixture of experts (Sparse Upcycling).
#include <fmt/format.h>

#include <memory>

#include "cli/common.h"
#include "slm/model/upcycle.h"

namespace slm::cli {

void add_moe_commands(CLI::App& app) {
  auto* moe = app.add_subcommand("moe", "Mixture-of-experts tools (docs/moe.md)");
  moe->require_subcommand(1);
  struct Args {
    std::string model, out;
    model::UpcycleOptions opt;
  };
  auto a = std::make_shared<Args>();
  auto* up = moe->add_subcommand("upcycle", "Turn a dense model into a mixture of experts: every expert a copy of "
                                            "the layer's MLP, a small random router (Sparse Upcycling)");
  up->add_option("--model", a->model, "a dense model folder (config.json, model.safetensors, tokenizer.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  up->add_option("--experts", a->opt.experts, "experts in every layer")->capture_default_str();
  up->add_option("--top-k", a->opt.experts_per_token, "experts each token runs")->capture_default_str();
  up->add_option("--router-std", a->opt.router_std, "standard deviation of the router's initial weights")
      ->capture_default_str()
      ->check(in_range(0, 10));
  up->add_option("--seed", a->opt.seed, "seed of the router's initial weights")
      ->capture_default_str()
      ->check(in_range(0, kMaxSeed));
  up->add_option("--out", a->out, "the model folder to write")->required();
  up->footer(
      "Example:\n"
      "  slm moe upcycle --model runs/q/pretrain/model --experts 8 --out runs/moe/upcycled\n"
      "  slm finetune --base runs/moe/upcycled --data alpaca.json --out runs/moe/sft   (train the experts on)\n"
      "The upcycled model computes what the dense one did until training moves its experts apart.");
  up->callback([a] {
    const int64_t n = model::upcycle_model(a->model, a->out, a->opt);
    fmt::print("{} ({:.2f}M parameters, {} experts, top-{})\n", a->out, double(n) / 1e6, a->opt.experts,
               a->opt.experts_per_token);
  });
}

}  // namespace slm::cli
