// slm merge: weight arithmetic on models tuned from one base (task arithmetic, WiSE-FT's
// interpolation, ExPO's extrapolation, soups of runs), as mergekit's task_arithmetic.
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli/common.h"
#include "slm/model/merge.h"

namespace slm::cli {

void add_merge_commands(CLI::App& app) {
  struct Args {
    std::string base, out;
    std::vector<std::pair<double, std::string>> adds;
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("merge", "Merge models tuned from one base: base + sum of w x (model - base)");
  cmd->add_option("--base", a->base, "the model the others were tuned from: a folder (with tokenizer.json) or a .gguf file")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--add", a->adds,
                  "W MODEL: add W times MODEL's change from the base (repeatable; 0 < W < 1 interpolates, W > 1 "
                  "extrapolates, a negative W subtracts)")
      ->required();
  cmd->add_option("--out", a->out, "the merged model folder (written whole or not at all)")->required();
  cmd->add_flag("--quiet,-q", a->quiet, "no summary on stderr");
  cmd->footer(
      "Examples:\n"
      "  slm merge --base runs/r/finetune-merged --add 0.5 runs/r/words-1/model --out half  # half of a run's change\n"
      "  slm merge --base runs/r/finetune-merged --add 0.5 runs/r/rft-1/model --add 0.5 runs/r/words-1/model --out soup\n"
      "Every model must have the base's config and tokenizer (docs/alignment.md, \"Merging runs\").");
  cmd->callback([a] {
    std::vector<model::MergeTerm> terms;
    for (const auto& [w, m] : a->adds) {
      if (!std::isfinite(w)) throw CLI::ValidationError("--add", fmt::format("the weight {} is not a finite number", w));
      terms.push_back({w, m});
    }
    const model::MergeSummary s = model::merge_models(a->base, terms, a->out);
    if (!a->quiet) {
      for (size_t i = 0; i < terms.size(); ++i)
        fmt::print(stderr, "{:+.3g} x ({} - base): its change's L2 norm {:.4g}\n", terms[i].weight, terms[i].model,
                   s.term_norms[i]);
      fmt::print(stderr, "merged {} parameters; the merge is {:.4g} from the base (L2)\n", s.params, s.merged_norm);
    }
    fmt::print("{}\n", a->out);
  });
}

}  // namespace slm::cli
