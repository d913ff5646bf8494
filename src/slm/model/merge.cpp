#include "slm/model/merge.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/model/model_files.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::model {

namespace {

// The first field of two configs' JSON that differs ("" when none).
std::string config_difference(const ModelConfig& a, const ModelConfig& b) {
  const nlohmann::json ja = a.to_json(), jb = b.to_json();
  for (const auto& [k, v] : ja.items())
    if (!jb.contains(k) || jb[k] != v) return fmt::format("{} is {} in the base and {} here", k, v.dump(), jb.value(k, nlohmann::json()).dump());
  return "";
}

// Task arithmetic needs the token ids to mean the same in every model.
std::string tokenizer_difference(const tokenizer::Tokenizer& a, const tokenizer::Tokenizer& b) {
  if (a.vocab_size() != b.vocab_size())
    return fmt::format("the tokenizer has {} tokens in the base and {} here", a.vocab_size(), b.vocab_size());
  if (a.to_json() != b.to_json()) return "the tokenizer's tokens or merges differ from the base's";
  return "";
}

}  // namespace

MergeSummary merge_models(const std::string& base, const std::vector<MergeTerm>& terms, const std::string& out_dir) {
  if (terms.empty()) throw Error("nothing to merge: give at least one model and its weight", "merge");
  LoadedModel b = load_model_and_tokenizer(base);
  const int64_t n = b.model->num_params();
  float* w0 = b.model->params();
  std::vector<double> sum(w0, w0 + n);
  MergeSummary s;
  s.params = n;
  bool templated = b.alpaca_template;
  for (const auto& t : terms) {
    if (!std::isfinite(t.weight)) throw Error(fmt::format("the weight {} is not a number", t.weight), t.model);
    LoadedModel m = load_model_and_tokenizer(t.model);
    std::string why = config_difference(b.model->config(), m.model->config());
    if (why.empty()) why = tokenizer_difference(*b.tok, *m.tok);
    if (!why.empty()) throw Error(fmt::format("{}; a merge takes models tuned from the base {}", why, base), t.model);
    const float* w = m.model->params();
    double norm2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = double(w[i]) - double(w0[i]);
      sum[size_t(i)] += t.weight * d;
      norm2 += d * d;
    }
    s.term_norms.push_back(std::sqrt(norm2));
    templated = templated || m.alpaca_template;
  }
  double moved2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = float(sum[size_t(i)]);
    if (!std::isfinite(v)) throw Error(fmt::format("the merged weight {} is not finite (a weight too large?)", i), "merge");
    moved2 += (double(v) - w0[i]) * (double(v) - w0[i]);
    w0[i] = v;
  }
  s.merged_norm = std::sqrt(moved2);
  AtomicDir out(out_dir);
  save_model_files(out.path(), *b.model);
  write_file_atomic(out.file("tokenizer.json"), b.tok->to_json());
  if (templated) tokenizer::write_template_file(out.path());
  out.commit();
  return s;
}

}  // namespace slm::model
