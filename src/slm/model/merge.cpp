#include "slm/model/merge.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/model/model_files.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::model {

namespace fs = std::filesystem;

namespace {

// The first field of two configs' JSON that differs ("" when none), looked for both ways:
// a dense config leaves the MoE fields out, so a model upcycled from the base has fields
// the base does not.
std::string config_difference(const ModelConfig& a, const ModelConfig& b) {
  const nlohmann::json ja = a.to_json(), jb = b.to_json();
  auto dump = [](const nlohmann::json& j, const std::string& k) { return j.contains(k) ? j[k].dump() : "not set"; };
  for (const auto* j : {&ja, &jb})
    for (const auto& [k, v] : j->items())
      if (!ja.contains(k) || !jb.contains(k) || ja[k] != jb[k])
        return fmt::format("{} is {} in the base and {} here", k, dump(ja, k), dump(jb, k));
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
  for (const auto& t : terms)  // before any model loads
    if (!std::isfinite(t.weight)) throw Error(fmt::format("the weight {} is not a finite number", t.weight), t.model);
  // The merge replaces out_dir whole: never a folder it reads (a run's checkpoints with it).
  std::vector<std::string> inputs = {base};
  for (const auto& t : terms) inputs.push_back(t.model);
  std::error_code ec;  // false when out_dir does not exist yet
  for (const auto& in : inputs)
    if (fs::equivalent(in, out_dir, ec))
      throw Error("--out is one of the models the merge reads; write the merge to a new folder", out_dir);
  LoadedModel b = load_model_and_tokenizer(base);
  const int64_t n = b.model->num_params();
  float* w0 = b.model->params();
  std::vector<double> sum(w0, w0 + n);
  MergeSummary s;
  s.params = n;
  bool templated = b.alpaca_template;
  for (const auto& t : terms) {
    LoadedModel m = load_model_and_tokenizer(t.model);
    std::string why = config_difference(b.model->config(), m.model->config());
    if (why.empty() && m.model->num_params() != n)
      why = fmt::format("it has {} parameters and the base {}", m.model->num_params(), n);
    if (why.empty()) why = tokenizer_difference(*b.tok, *m.tok);
    if (!why.empty()) throw Error(fmt::format("{}; a merge takes models tuned from the base {}", why, base), t.model);
    const float* w = m.model->params();
    double norm2 = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(w[i])) throw Error(fmt::format("its weight {} is not finite (a run that diverged?)", i), t.model);
      const double d = double(w[i]) - double(w0[i]);
      sum[size_t(i)] += t.weight * d;
      norm2 += d * d;
    }
    s.term_norms.push_back(std::sqrt(norm2));
    templated = templated || (m.alpaca_template && t.weight > 0);  // a model subtracted gives no template
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
