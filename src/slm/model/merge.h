#pragma once
// Weight arithmetic on models of one shape and tokenizer, all tuned from one base:
//
//   merged = base + sum_i w_i (model_i - base)
//
// Each model_i - base is a "task vector" (Ilharco et al. 2023, task arithmetic). One model
// with 0 < w < 1 is WiSE-FT's interpolation (Wortsman et al. 2022): part of a tuning's
// gain for less of its cost; w > 1 extrapolates past it (ExPO, Zheng et al. 2024); several
// models of one start add their changes, a "rewarded soup" (Rame et al. 2023) of runs
// tuned for different rewards. mergekit's `task_arithmetic` method, for slm's folders.
#include <string>
#include <vector>

namespace slm::model {

struct MergeTerm {
  double weight = 1;
  std::string model;  // a model folder or .gguf of the base's shape and tokenizer
};

struct MergeSummary {
  int64_t params = 0;
  // Each term's task vector: its L2 norm, and the L2 norm of the merged model's change
  // from the base (how far the merge moved, against each run's own distance).
  std::vector<double> term_norms;
  double merged_norm = 0;
};

// Writes the merge into out_dir (whole or not at all): config.json, model.safetensors and
// the base's tokenizer.json, and prompt_template.json when the base or a model has one.
// The sum is taken in double per weight. A model whose config or tokenizer differs from
// the base's is an error naming it and the first field or token that differs.
MergeSummary merge_models(const std::string& base, const std::vector<MergeTerm>& terms, const std::string& out_dir);

}  // namespace slm::model
