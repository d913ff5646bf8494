#include "slm/explain/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "slm/explain/lens.h"
#include "slm/explain/page.h"
#include "slm/explain/patch.h"
#include "slm/explain/prompt.h"
#include "slm/model/model_files.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"
#include "slm/util/jsonl.h"

namespace slm::explain {

using nlohmann::json;

std::vector<ExplainInput> read_explain_prompts(const std::string& path) {
  std::vector<ExplainInput> out;
  for_each_jsonl(path, [&](const json& r, const std::string& where) {
    ExplainInput in;
    in.where = where;
    refuse_unknown_fields(r, {"prompt", "subject", "answer"}, where);
    in.prompt = string_field(r, "prompt", where);
    if (r.contains("answer")) in.answer = string_field(r, "answer", where);
    if (r.contains("subject")) in.subject = string_field(r, "subject", where);
    out.push_back(in);
  });
  if (out.empty()) throw Error(path + ": no prompts (expected lines like {\"prompt\": ..., \"subject\": ...})");
  return out;
}

namespace {

std::string first_word(const std::string& s) {
  const size_t b = s.find_first_not_of(' '), e = s.find_first_of(" ,.!?", b);
  return b == std::string::npos ? s : s.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

std::vector<std::string> shown(const PromptTokens& p) {
  std::vector<std::string> out;
  for (const auto& piece : p.pieces) out.push_back(shown_token(piece));
  return out;
}

// The prompt's tokens and answer, and the answer as a token (the model's prediction when none is given).
struct Prepared {
  PromptTokens p;
  int32_t answer = 0;
};
Prepared prepare(model::LoadedModel& lm, const ExplainInput& in, const ExplainOptions& o, const std::string& answer,
                 const std::string& prompt) {
  Prepared r;
  r.p = tokenize_prompt(*lm.tok, prompt, in.where);
  if (int(r.p.ids.size()) > lm.model->config().context)
    throw Error(in.where + ": the prompt is " + std::to_string(r.p.ids.size()) + " tokens, more than the model's context of " +
                std::to_string(lm.model->config().context));
  r.answer = answer.empty() ? predicted_token(*lm.model, r.p.ids) : answer_token(*lm.tok, answer, o.first_token, in.where);
  return r;
}

std::vector<std::string> layer_rows(int L, bool embed) {
  std::vector<std::string> rows;
  if (embed) rows.push_back("embed");
  for (int l = 0; l < L; ++l) rows.push_back("layer " + std::to_string(l));
  return rows;
}

model::LoadedModel load(const ExplainOptions& o) { return model::load_model_and_tokenizer(o.model); }

}  // namespace

std::string run_trace(const ExplainOptions& o, const std::vector<ExplainInput>& inputs) {
  auto lm = load(o);
  auto& m = *lm.model;
  const int L = m.config().n_layers;
  Page page("Causal tracing: " + o.model);
  page.paragraph(fmt::format(
      "Each cell: the probability of the answer when the corrupted run (Gaussian noise of {}x the embeddings' std on the "
      "subject tokens, marked *, {} draws) gets that one state back from the clean run. MLP and attention rows restore a "
      "window of {} layers around the row's layer (clipped to the model's {}). White: the corrupted probability.",
      o.trace.noise, o.trace.samples, o.trace.window, L));
  json result{{"model", o.model}, {"noise", o.trace.noise}, {"samples", o.trace.samples}, {"window", o.trace.window},
              {"seed", o.trace.seed}, {"traces", json::array()}};
  std::vector<TraceResult> traces;
  const char* colors[kKinds] = {"#6a3d9a", "#1b7837", "#b2182b"};
  const char* titles[kKinds] = {"residual stream", "MLP output", "attention output"};
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& in = inputs[i];
    auto pr = prepare(lm, in, o, in.answer, in.prompt);
    const std::string subject = in.subject.empty() ? first_word(in.prompt) : in.subject;
    const auto [sb, se] = find_subject(pr.p, subject, in.where);
    auto r = causal_trace(m, pr.p.ids, sb, se, pr.answer, o.trace);
    const std::string answer_shown = shown_token(lm.tok->decode({uint32_t(pr.answer)}));
    json t{{"prompt", in.prompt}, {"subject", subject}, {"answer", lm.tok->decode({uint32_t(pr.answer)})},
           {"answer_id", pr.answer}, {"tokens", pr.p.pieces}, {"token_ids", pr.p.ids}, {"subject_tokens", {sb, se}},
           {"p_clean", r.p_clean}, {"p_corrupt", r.p_corrupt}, {"noise_std", r.noise_std}};
    for (int k = 0; k < kKinds; ++k) t[kind_name(Kind(k))] = r.probs[size_t(k)];
    result["traces"].push_back(t);
    if (i < 10) {  // pictures for the first prompts; the numbers for all
      page.heading(fmt::format("{} -> {}", in.prompt, answer_shown));
      page.paragraph(fmt::format("p(answer) clean {:.4f}, corrupted {:.4f}; subject '{}'", r.p_clean, r.p_corrupt, subject));
      for (int k = 0; k < kKinds; ++k) {
        HeatMap h;
        h.title = fmt::format("{}: restored {}", in.prompt.substr(0, 60), titles[k]);
        h.rows = layer_rows(L, k == 0);
        h.cols = shown(pr.p);
        h.values = r.probs[size_t(k)];
        for (int s = sb; s < se; ++s) h.marked_cols.push_back(s);
        h.lo = r.p_corrupt;
        h.hi = r.p_clean;
        for (const auto& row : h.values) h.hi = std::max(h.hi, *std::max_element(row.begin(), row.end()));
        h.color = colors[k];
        h.legend = "p(" + answer_shown + ")";
        page.heatmap(h, fmt::format("trace{}_{}.svg", i, kind_name(Kind(k))));
      }
    }
    traces.push_back(std::move(r));
  }
  std::string summary = fmt::format("{} prompt(s) traced", traces.size());
  if (traces.size() > 1) {
    const auto a = average_indirect_effect(traces);
    page.heading(fmt::format("Average indirect effect over {} prompts", a.traces));
    page.paragraph(fmt::format("The restored probability minus the corrupted one, averaged within each group of positions, "
                               "then over the prompts that have the group. Mean p(answer): clean {:.4f}, corrupted {:.4f}.",
                               a.mean_p_clean, a.mean_p_corrupt));
    json aie;
    for (int k = 0; k < kKinds; ++k) {
      HeatMap h;
      h.title = std::string("Average indirect effect: ") + titles[k];
      h.rows = layer_rows(L, k == 0);
      for (int g = 0; g < kGroups; ++g) h.cols.push_back(kGroupNames[g]);
      h.values.assign(h.rows.size(), std::vector<double>(kGroups));
      for (size_t row = 0; row < h.rows.size(); ++row)
        for (int g = 0; g < kGroups; ++g) h.values[row][size_t(g)] = a.aie[size_t(k)][size_t(g)][row];
      h.lo = 0;
      h.hi = 1e-9;
      for (const auto& row : h.values) h.hi = std::max(h.hi, *std::max_element(row.begin(), row.end()));
      h.color = colors[k];
      h.legend = "indirect effect";
      page.heatmap(h, fmt::format("aie_{}.svg", kind_name(Kind(k))));
      aie[kind_name(Kind(k))] = h.values;
    }
    result["average_indirect_effect"] = {{"groups", std::vector<std::string>(kGroupNames, kGroupNames + kGroups)},
                                         {"prompts_with_group", a.count}, {"mean_p_clean", a.mean_p_clean},
                                         {"mean_p_corrupt", a.mean_p_corrupt}, {"rows", layer_rows(L, true)}, {"aie", aie}};
    summary += fmt::format(", mean p(answer) clean {:.3f}, corrupted {:.3f}", a.mean_p_clean, a.mean_p_corrupt);
  } else {
    summary += fmt::format(", p(answer) clean {:.3f}, corrupted {:.3f}", traces[0].p_clean, traces[0].p_corrupt);
  }
  page.write(o.out, result);
  return summary;
}

std::string run_patch(const ExplainOptions& o, const ExplainInput& in) {
  auto lm = load(o);
  auto& m = *lm.model;
  const int L = m.config().n_layers, H = m.config().n_heads;
  if (in.counterfactual.empty()) throw Error("--counterfactual: the other prompt is missing");
  auto clean = prepare(lm, in, o, in.answer, in.prompt);
  ExplainInput cfin = in;
  cfin.where = "--counterfactual";
  auto cf = prepare(lm, cfin, o, in.cf_answer, in.counterfactual);
  if (clean.p.ids.size() != cf.p.ids.size())
    throw Error(fmt::format("--counterfactual: the two prompts must be the same number of tokens to patch one into the "
                            "other: {} and {} (change one word for one of the same length in tokens)",
                            clean.p.ids.size(), cf.p.ids.size()));
  if (clean.answer == cf.answer)
    throw Error("--cf-answer: the model answers both prompts with the same token " +
                shown_token(lm.tok->decode({uint32_t(clean.answer)})) + "; give --answer and --cf-answer");
  const auto r = activation_patch(m, clean.p.ids, cf.p.ids, clean.answer, cf.answer);
  const std::string a = shown_token(lm.tok->decode({uint32_t(clean.answer)})),
                    b = shown_token(lm.tok->decode({uint32_t(cf.answer)}));
  Page page("Activation patching: " + o.model);
  page.paragraph(fmt::format("Clean: '{}' -> {}. Counterfactual: '{}' -> {}. Each cell: the share of the logit difference "
                             "logit({}) - logit({}) restored when that activation of the counterfactual run is replaced by "
                             "the clean run's: 1 = all of it, 0 = none. LD clean {:.3f}, counterfactual {:.3f}.",
                             in.prompt, a, in.counterfactual, b, a, b, r.ld_clean, r.ld_cf));
  std::vector<int> differ;
  for (size_t t = 0; t < clean.p.ids.size(); ++t)
    if (clean.p.ids[t] != cf.p.ids[t]) differ.push_back(int(t));
  HeatMap h;
  h.title = "Residual stream patched at one position";
  h.rows = layer_rows(L, true);
  h.cols = shown(clean.p);
  h.values = r.resid;
  h.marked_cols = differ;
  h.lo = std::min(0.0, h.lo), h.hi = 1;
  for (const auto& row : r.resid) h.lo = std::min(h.lo, *std::min_element(row.begin(), row.end()));
  h.legend = "share of the logit difference";
  page.heatmap(h, "patch_resid.svg");
  HeatMap hh;
  hh.title = "One attention head's output patched (every position)";
  hh.rows = layer_rows(L, false);
  for (int i = 0; i < H; ++i) hh.cols.push_back("head " + std::to_string(i));
  hh.values = r.heads;
  hh.lo = 0, hh.hi = 1, hh.color = "#b2182b";
  for (const auto& row : r.heads) hh.lo = std::min(hh.lo, *std::min_element(row.begin(), row.end()));
  hh.legend = "share of the logit difference";
  page.heatmap(hh, "patch_heads.svg");
  std::vector<std::vector<std::string>> rows;
  for (int l = 0; l < L; ++l)
    rows.push_back({std::to_string(l), fmt::format("{:.3f}", r.attn[size_t(l)]), fmt::format("{:.3f}", r.mlp[size_t(l)])});
  page.heading("Whole blocks patched (every position)");
  page.table({"layer", "attention output", "MLP output"}, rows);
  json result{{"model", o.model}, {"prompt", in.prompt}, {"counterfactual", in.counterfactual},
              {"answer", lm.tok->decode({uint32_t(clean.answer)})}, {"cf_answer", lm.tok->decode({uint32_t(cf.answer)})},
              {"tokens", clean.p.pieces}, {"cf_tokens", cf.p.pieces}, {"ld_clean", r.ld_clean}, {"ld_cf", r.ld_cf},
              {"p_clean", r.p_clean}, {"p_cf", r.p_cf}, {"resid_rows", layer_rows(L, true)}, {"resid", r.resid},
              {"resid_p_answer", r.resid_p}, {"attn", r.attn}, {"mlp", r.mlp}, {"heads", r.heads}};
  page.write(o.out, result);
  return fmt::format("logit difference clean {:.3f}, counterfactual {:.3f}", r.ld_clean, r.ld_cf);
}

std::string run_lens(const ExplainOptions& o, const ExplainInput& in) {
  auto lm = load(o);
  auto& m = *lm.model;
  const int L = m.config().n_layers;
  auto pr = prepare(lm, in, o, in.answer, in.prompt);
  const auto r = logit_lens(m, pr.p.ids, o.top, pr.answer);
  const int Tn = int(pr.p.ids.size());
  auto tok_text = [&](int32_t id) { return shown_token(lm.tok->decode({uint32_t(id)})); };
  Page page("Logit lens: " + o.model);
  page.paragraph("Each layer's residual stream read through the model's final norm and output head: the token it would "
                 "predict next at each position (the cell's text) and that token's probability (the colour). The last "
                 "row is the model's own prediction.");
  HeatMap h;
  h.title = "Top next token per layer and position";
  h.rows = layer_rows(L, true);
  h.cols = shown(pr.p);
  h.values.assign(size_t(L) + 1, std::vector<double>(size_t(Tn)));
  h.text = std::vector<std::vector<std::string>>(size_t(L) + 1, std::vector<std::string>(size_t(Tn)));
  for (int row = 0; row <= L; ++row)
    for (int t = 0; t < Tn; ++t) {
      h.values[size_t(row)][size_t(t)] = r.top_probs[size_t(row)][size_t(t)][0];
      h.text[size_t(row)][size_t(t)] = lm.tok->decode({uint32_t(r.top_ids[size_t(row)][size_t(t)][0])});
    }
  h.color = "#2166ac";
  h.legend = "p(top token)";
  page.heatmap(h, "lens.svg");
  page.heading("The last position, layer by layer (answer " + tok_text(pr.answer) + ")");
  std::vector<std::vector<std::string>> rows;
  for (int row = 0; row <= L; ++row) {
    std::string top;
    for (size_t k = 0; k < r.top_ids[size_t(row)][size_t(Tn) - 1].size(); ++k)
      top += fmt::format("{}{} {:.3f}", k ? ", " : "", tok_text(r.top_ids[size_t(row)][size_t(Tn) - 1][k]),
                         r.top_probs[size_t(row)][size_t(Tn) - 1][k]);
    rows.push_back({layer_rows(L, true)[size_t(row)], top, fmt::format("{:.4f}", r.answer_probs[size_t(row)])});
  }
  page.table({"layer", "top tokens", "p(answer)"}, rows);
  json cells = json::array();
  for (int row = 0; row <= L; ++row) {
    json line = json::array();
    for (int t = 0; t < Tn; ++t) {
      json top = json::array();
      for (size_t k = 0; k < r.top_ids[size_t(row)][size_t(t)].size(); ++k)
        top.push_back({{"token", lm.tok->decode({uint32_t(r.top_ids[size_t(row)][size_t(t)][k])})},
                       {"id", r.top_ids[size_t(row)][size_t(t)][k]}, {"p", r.top_probs[size_t(row)][size_t(t)][k]}});
      line.push_back(top);
    }
    cells.push_back(line);
  }
  json result{{"model", o.model}, {"prompt", in.prompt}, {"tokens", pr.p.pieces}, {"rows", layer_rows(L, true)},
              {"top", cells}, {"answer", lm.tok->decode({uint32_t(pr.answer)})}, {"answer_p", r.answer_probs}};
  page.write(o.out, result);
  return fmt::format("answer {} reaches p {:.3f} at the last layer", tok_text(pr.answer), r.answer_probs.back());
}

std::string run_attention(const ExplainOptions& o, const ExplainInput& in) {
  auto lm = load(o);
  auto& m = *lm.model;
  const int L = m.config().n_layers, H = m.config().n_heads;
  auto p = tokenize_prompt(*lm.tok, in.prompt, in.where);
  if (int(p.ids.size()) > m.config().context) throw Error(in.where + ": the prompt is longer than the model's context");
  const auto maps = attention_maps(m, p.ids);
  const int Tn = int(p.ids.size());
  Page page("Attention maps: " + o.model);
  page.paragraph("Each map: one head's attention probabilities; row = the query position (the token that reads), column = "
                 "the key position (the token read). Rows sum to 1; a token reads only itself and earlier tokens.");
  json layers = json::array();
  for (int l = 0; l < L; ++l) {
    page.heading("Layer " + std::to_string(l));
    json heads = json::array();
    for (int h = 0; h < H; ++h) {
      HeatMap hm;
      hm.title = fmt::format("layer {} head {}", l, h);
      hm.rows = hm.cols = shown(p);
      hm.values.assign(size_t(Tn), std::vector<double>(size_t(Tn)));
      for (int q = 0; q < Tn; ++q)
        for (int k = 0; k < Tn; ++k) hm.values[size_t(q)][size_t(k)] = maps[size_t(l)][(size_t(h) * Tn + q) * Tn + k];
      hm.color = "#e66101";
      hm.legend = "attention";
      page.heatmap(hm, fmt::format("attention_l{}_h{}.svg", l, h));
      heads.push_back(hm.values);
    }
    layers.push_back(heads);
  }
  json result{{"model", o.model}, {"prompt", in.prompt}, {"tokens", p.pieces}, {"attention", layers}};
  page.write(o.out, result);
  return fmt::format("{} layers x {} heads over {} tokens", L, H, Tn);
}

}  // namespace slm::explain
