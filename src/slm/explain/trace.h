#pragma once
// Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT",
// ROME): which hidden states carry what the model needs to predict the answer.
//   1. clean run: the answer's probability p_clean;
//   2. corrupted runs: Gaussian noise (by default 3x the std of the embedding table) on
//      the subject tokens' embeddings, several draws: p_corrupt;
//   3. for every (layer, position), the corrupted runs with that one state put back from
//      the clean run: the probability p it recovers. Its indirect effect is p - p_corrupt.
// Three kinds of state: the residual stream (the embeddings, and after each layer); the MLP outputs and the
// attention outputs of a window of layers around it (10 by default, clipped to the model).
// Restorations run batched (Patcher): each resumes from the corrupted run at its own layer
// and position, a window per noise draw, those resuming together in one forward.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/model/transformer.h"

namespace slm::explain {

struct TraceOptions {
  int samples = 10;      // noise draws
  double noise = 3.0;    // noise std, in multiples of the embedding table's std
  int window = 10;       // layers restored together for the MLP and attention traces
  uint64_t seed = 1;
  bool quiet = false;    // no progress bar
};

// The three kinds of restored state, in the order of TraceResult::effects.
enum class Kind { resid, mlp, attn };
inline constexpr int kKinds = 3;
const char* kind_name(Kind k);  // "resid", "mlp", "attn"

struct TraceResult {
  std::vector<int32_t> tokens;
  int subject_begin = 0, subject_end = 0;  // the corrupted tokens [begin, end)
  int32_t answer = 0;
  double noise_std = 0;                    // the noise's std in embedding units
  double p_clean = 0, p_corrupt = 0;
  // probs[kind][row][position]: the answer's probability with that state restored. The
  // residual stream has L + 1 rows: row 0 is the embeddings (the first layer's input), row
  // l + 1 layer l's output; the MLP and attention traces have a row a layer.
  std::vector<std::vector<std::vector<double>>> probs;
};

// The std of all entries of the token embedding table.
double embedding_std(const model::Transformer<float>& m);

// The layers restored together around layer l (ROME: [l - floor(window/2), l + ceil(window/2)), within [0, L)).
std::vector<int> window_layers(int l, int window, int L);

TraceResult causal_trace(model::Transformer<float>& m, const std::vector<int32_t>& tokens, int subject_begin,
                         int subject_end, int32_t answer, const TraceOptions& o);

// The average indirect effect over many traces (ROME's figure): each position falls in one
// of six groups, the effect is averaged within a trace's group, then over the traces that
// have the group. aie[kind][group][row] (rows as TraceResult::probs); count[group] is how many traces have it.
inline constexpr int kGroups = 6;
extern const char* const kGroupNames[kGroups];
struct AverageEffect {
  std::vector<std::vector<std::vector<double>>> aie;
  std::vector<int> count;
  double mean_p_clean = 0, mean_p_corrupt = 0;
  int traces = 0;
};
int position_group(int t, int subject_begin, int subject_end, int Tn);
AverageEffect average_indirect_effect(const std::vector<TraceResult>& traces);

}  // namespace slm::explain
