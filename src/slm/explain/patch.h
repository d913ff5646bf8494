#pragma once
// Activation patching between two prompts of the same length (Wang et al. 2022, "Interpretability
// in the Wild"; Heimersheim & Nanda's path-patching-lite): run the counterfactual prompt
// (a different name, a different object) and put back one activation from the clean
// prompt's run. Scored by the logit difference LD = logit(answer) - logit(counterfactual
// answer) at the last position: the share of it restored, (LD_patched - LD_cf) /
// (LD_clean - LD_cf): 1 when that activation alone carries the difference, 0 when it carries none.
#include <cstdint>
#include <vector>

#include "slm/model/transformer.h"

namespace slm::explain {

struct PatchResult {
  std::vector<int32_t> clean, counterfactual;
  int32_t answer = 0, cf_answer = 0;
  double ld_clean = 0, ld_cf = 0;  // logit differences of the two unpatched runs
  double p_clean = 0, p_cf = 0;    // the answer's probability in them
  // Each share of the logit difference restored, and the answer's probability, when patching:
  std::vector<std::vector<double>> resid, resid_p;  // [row][position]: the residual stream
                                                    // (row 0 the embeddings, row l+1 layer l's output)
  std::vector<double> attn, mlp;                    // [layer]: a layer's attention / MLP output, every position
  std::vector<std::vector<double>> heads;           // [layer][head]: one head's output, every position
};

// Throws slm::Error when the prompts' lengths differ or the two answers are the same token.
PatchResult activation_patch(model::Transformer<float>& m, const std::vector<int32_t>& clean,
                             const std::vector<int32_t>& counterfactual, int32_t answer, int32_t cf_answer);

}  // namespace slm::explain
