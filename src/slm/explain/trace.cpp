#include "slm/explain/trace.h"

#include <algorithm>
#include <cmath>

#include "slm/explain/patcher.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::explain {

using model::Site;

const char* kind_name(Kind k) { return k == Kind::resid ? "resid" : k == Kind::mlp ? "mlp" : "attn"; }

const char* const kGroupNames[kGroups] = {"first subject token", "middle subject tokens", "last subject token",
                                          "first subsequent token", "further tokens", "last token"};

double embedding_std(const model::Transformer<float>& m) {
  const auto& t = m.layout().tensors[size_t(m.layout().embed)];
  const float* e = m.params() + t.offset;
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < t.size; ++i) sum += e[i], sq += double(e[i]) * e[i];
  const double mean = sum / double(t.size);
  return std::sqrt(std::max(0.0, sq / double(t.size) - mean * mean));
}

std::vector<int> window_layers(int l, int window, int L) {
  std::vector<int> out;
  // ROME's range(l - w // 2, l - (-w // 2)) in Python: -(-w // 2) rounds w / 2 up (a window of 1 is the layer itself).
  for (int j = std::max(0, l - window / 2); j < std::min(L, l + (window + 1) / 2); ++j) out.push_back(j);
  return out;
}

TraceResult causal_trace(model::Transformer<float>& m, const std::vector<int32_t>& tokens, int subject_begin,
                         int subject_end, int32_t answer, const TraceOptions& o) {
  const int L = m.config().n_layers, Tn = int(tokens.size()), V = m.config().vocab_size;
  if (answer < 0 || answer >= V) throw Error("the answer's token id " + std::to_string(answer) + " is outside the vocabulary");
  if (subject_begin >= subject_end) throw Error("the subject covers no token of the prompt");
  if (o.window < 1) throw Error("the window must be at least 1 layer");
  TraceResult r;
  r.tokens = tokens, r.subject_begin = subject_begin, r.subject_end = subject_end, r.answer = answer;
  r.noise_std = o.noise * embedding_std(m);
  Noise noise{subject_begin, subject_end, o.samples, r.noise_std, o.seed};
  Patcher p(m, tokens, tokens, noise);
  r.p_clean = softmax_prob(p.source_logits().data(), V, answer);
  r.p_corrupt = p.answer_probs({Restore{Site::resid, {}, {}}}, answer)[0];

  // Every restoration of every row and kind in one list: Patcher resumes each at its layer
  // and position, batches those that resume together, and runs equal ones once.
  const Site sites[kKinds] = {Site::resid, Site::mlp_out, Site::attn_out};
  std::vector<Restore> items;
  struct Row {
    int kind, first, last;  // the row's positions [first, last) are items [first_item, ...)
    size_t first_item;
  };
  std::vector<Row> rows;
  for (int k = 0; k < kKinds; ++k) {
    // The residual stream's rows: the embeddings, then each layer's output.
    for (int l = k == 0 ? -1 : 0; l < L; ++l) {  // a window per position (and noise draw)
      // States before the subject are the same in the clean and the corrupted runs (the
      // attention is causal), and so are the embeddings of the tokens after it: restoring
      // them changes nothing, so they are not run (p_corrupt, exactly as the math says).
      const int last = l < 0 ? subject_end : Tn;
      rows.push_back(Row{k, subject_begin, last, items.size()});
      std::vector<int> layers = l < 0 ? std::vector<int>{0} : k == 0 ? std::vector<int>{l} : window_layers(l, o.window, L);
      for (int t = subject_begin; t < last; ++t) items.push_back(Restore{l < 0 ? Site::embed : sites[k], layers, {t}});
    }
  }
  Progress bar("trace", double(items.size()), "states", o.quiet);
  p.on_progress = [&](size_t done, size_t) { bar.update(double(done)); };
  const auto probs = p.answer_probs(items, answer);
  r.probs.resize(kKinds);
  for (const auto& row : rows) {
    auto& out = r.probs[size_t(row.kind)].emplace_back(size_t(Tn), r.p_corrupt);
    std::copy_n(probs.begin() + long(row.first_item), row.last - row.first, out.begin() + row.first);
  }
  bar.finish();
  return r;
}

int position_group(int t, int sb, int se, int Tn) {
  if (t == Tn - 1) return 5;
  if (t == se - 1) return 2;  // a one-token subject's token is its last (as in ROME's figures)
  if (t == sb) return 0;
  if (t > sb && t < se - 1) return 1;
  if (t == se) return 3;
  return t > se ? 4 : -1;  // tokens before the subject are in no group (ROME leaves them out)
}

AverageEffect average_indirect_effect(const std::vector<TraceResult>& traces) {
  AverageEffect a;
  if (traces.empty()) return a;
  a.aie.resize(kKinds);
  for (int k = 0; k < kKinds; ++k)
    a.aie[size_t(k)].assign(kGroups, std::vector<double>(traces[0].probs[size_t(k)].size(), 0.0));
  a.count.assign(kGroups, 0);
  for (const auto& r : traces) {
    if (r.probs[0].size() != traces[0].probs[0].size())
      throw Error("traces of models of different depths cannot be averaged");
    const int Tn = int(r.tokens.size());
    std::vector<int> n(kGroups, 0);
    for (int t = 0; t < Tn; ++t) {
      const int g = position_group(t, r.subject_begin, r.subject_end, Tn);
      if (g >= 0) ++n[size_t(g)];
    }
    for (int g = 0; g < kGroups; ++g) a.count[size_t(g)] += n[size_t(g)] > 0;
    for (int k = 0; k < kKinds; ++k)
      for (size_t l = 0; l < r.probs[size_t(k)].size(); ++l)
        for (int t = 0; t < Tn; ++t) {
          const int g = position_group(t, r.subject_begin, r.subject_end, Tn);
          if (g >= 0) a.aie[size_t(k)][size_t(g)][l] += (r.probs[size_t(k)][l][size_t(t)] - r.p_corrupt) / n[size_t(g)];
        }
    a.mean_p_clean += r.p_clean, a.mean_p_corrupt += r.p_corrupt;
  }
  for (int k = 0; k < kKinds; ++k)
    for (int g = 0; g < kGroups; ++g)
      for (auto& v : a.aie[size_t(k)][size_t(g)]) v = a.count[size_t(g)] ? v / a.count[size_t(g)] : 0.0;
  a.traces = int(traces.size());
  a.mean_p_clean /= a.traces, a.mean_p_corrupt /= a.traces;
  return a;
}

}  // namespace slm::explain
