#include "slm/eval/instruct_eval.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "slm/stories/story_checks.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/infer/generate.h"
#include "slm/model/model_files.h"
#include "slm/train/lora.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "slm/util/progress.h"
#include "slm/util/rouge.h"

namespace slm::eval {

using nlohmann::json;

std::string normalize_answer(const std::string& s) {
  std::string out;
  for (const auto& w : rouge_tokens(s)) {  // lower case, letters and digits only
    if (w == "a" || w == "an" || w == "the") continue;
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

std::string task_kind(const stories::InstructRecord& r) {
  const stories::TaskInfo* info = stories::find_task(r.task);
  return info ? info->kind : !r.answer.empty() ? "question" : !r.words.empty() ? "write" : "rouge";
}

void score_output(const stories::InstructRecord& r, const std::string& output, TaskScore& ts, json& sample) {
  const stories::Vocabulary& vocab = stories::Vocabulary::shared();
  const std::string kind = task_kind(r);
  ts.kind = kind;
  ++ts.n;
  if (kind == "question") {
    std::string got = normalize_answer(output), want = normalize_answer(r.answer), ref = normalize_answer(r.output);
    bool exact = got == want || got == ref;
    bool contains = !want.empty() && (" " + got + " ").find(" " + want + " ") != std::string::npos;
    ts.exact += exact;
    ts.contains += contains;
    sample["exact"] = exact;
    sample["contains"] = contains;
    sample["yes_no"] = want == "yes" || want == "no";
  } else if (kind == "write") {
    int used = 0, shown = 0;
    json missing = json::array();
    for (const auto& w : r.words) {
      bool u = stories::uses_required_word(output, w, vocab);
      used += u;
      if (!u) missing.push_back(w);
    }
    for (const auto& f : r.features) {
      auto feat = stories::feature_from_name(f);
      shown += feat && stories::shows_feature(output, *feat);
    }
    double wshare = r.words.empty() ? 1.0 : double(used) / double(r.words.size());
    double fshare = r.features.empty() ? 1.0 : double(shown) / double(r.features.size());
    ts.words += wshare;
    ts.features += fshare;
    sample["words_used"] = wshare;
    sample["features_shown"] = fshare;
    sample["missing_words"] = missing;
  } else {
    double f = rouge_l(output, r.output);
    ts.rouge += f;
    sample["rouge_l"] = f;
  }
}

json InstructEval::to_json() const {
  json t = json::array();
  for (const auto& s : tasks) {
    json j = {{"task", s.task}, {"kind", s.kind}, {"n", s.n}};
    if (s.kind == "question") j["exact_match"] = s.exact, j["contains_answer"] = s.contains;
    if (s.kind == "write") j["required_words"] = s.words, j["features"] = s.features;
    if (s.kind == "rouge") j["rouge_l"] = s.rouge;
    t.push_back(j);
  }
  json j = {{"records", n}, {"skipped_too_long", skipped}, {"tasks", t}};
  auto put = [&](const char* k, double v) { j[k] = v < 0 ? json(nullptr) : json(v); };
  put("question_exact_match", exact);
  put("question_contains_answer", contains);
  put("required_words", words);
  put("features", features);
  put("rouge_l", rouge);
  put("question_open_contains_answer", open_contains);
  put("question_same_answer_share", same_answer);
  put("required_words_quoted", words_quoted);
  put("required_words_unquoted", words_unquoted);
  put("required_words_same_spelling", words_same);
  put("required_words_one_token", words_one_token);
  put("required_words_other_spelling", words_other);
  put("writing_shared_4grams", story_shared);
  if (same_answer >= 0) j["question_common_answer"] = common_answer;
  return j;
}

std::string word_spelling(const tokenizer::Tokenizer& tok, const std::string& word) {
  const std::vector<uint32_t> spaced = tok.encode(" " + word), alone = tok.encode(word), space = tok.encode(" ");
  if (spaced.size() == 1) return "one_token";
  if (space.size() == 1 && spaced.size() == alone.size() + 1 && spaced[0] == space[0] &&
      std::equal(alone.begin(), alone.end(), spaced.begin() + 1))
    return "same";
  return "other";
}

// The distinct word 4-grams of a text (lower case, letters and digits: ROUGE's words).
static std::set<std::string> word_4grams(const std::string& text) {
  const std::vector<std::string> w = rouge_tokens(text);
  std::set<std::string> out;
  for (size_t i = 0; i + 4 <= w.size(); ++i) out.insert(w[i] + ' ' + w[i + 1] + ' ' + w[i + 2] + ' ' + w[i + 3]);
  return out;
}

// InstructEval::story_shared: each writing output's share of 4-grams found in another's.
static double shared_4grams(const std::vector<std::set<std::string>>& stories) {
  std::map<std::string, int> outputs_with;  // 4-gram -> how many outputs have it
  for (const auto& s : stories)
    for (const auto& g : s) ++outputs_with[g];
  double sum = 0;
  int n = 0;
  for (const auto& s : stories) {
    if (s.empty()) continue;  // too short to say
    int shared = 0;
    for (const auto& g : s) shared += outputs_with[g] > 1;
    sum += double(shared) / double(s.size());
    ++n;
  }
  return n < 2 ? -1 : sum / n;  // one story long enough has no other to share with
}

void collapse_checks(InstructEval& ev) {
  std::map<std::string, int> answers;
  std::vector<std::set<std::string>> stories;  // writing outputs' 4-grams
  int questions = 0, open = 0, open_right = 0;
  double words[2] = {}, requests[2] = {};  // [quoted]
  std::map<std::string, std::pair<int, int>> spelled;  // class -> (used, asked)
  for (const auto& s : ev.samples) {
    if (s.contains("words_used") && s.contains("instruction")) {
      const bool quoted = s["instruction"].get<std::string>().find('"') != std::string::npos;
      words[quoted] += s["words_used"].get<double>();
      ++requests[quoted];
    }
    if (s.contains("words_used") && s.contains("output")) stories.push_back(word_4grams(s["output"].get<std::string>()));
    if (s.contains("word_spelling")) {
      const json missing = s.value("missing_words", json::array());
      for (const auto& [w, cls] : s["word_spelling"].items()) {
        auto& [used, asked] = spelled[cls.get<std::string>()];
        used += std::find(missing.begin(), missing.end(), w) == missing.end();
        ++asked;
      }
    }
    if (!s.contains("contains")) continue;  // not a question
    ++questions;
    ++answers[normalize_answer(s["output"].get<std::string>())];
    if (s["yes_no"].get<bool>()) continue;
    ++open;
    open_right += s["contains"].get<bool>();
  }
  if (open) ev.open_contains = double(open_right) / open;
  if (requests[0]) ev.words_unquoted = words[0] / requests[0];
  if (requests[1]) ev.words_quoted = words[1] / requests[1];
  auto share = [&](const char* cls) {
    auto it = spelled.find(cls);
    return it == spelled.end() ? -1.0 : double(it->second.first) / it->second.second;
  };
  ev.words_same = share("same"), ev.words_one_token = share("one_token"), ev.words_other = share("other");
  ev.story_shared = shared_4grams(stories);
  if (!questions) return;
  const auto top = std::max_element(answers.begin(), answers.end(),
                                    [](const auto& a, const auto& b) { return a.second < b.second; });
  ev.same_answer = double(top->second) / questions;
  ev.common_answer = top->first;
}

InstructEval eval_instruct(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                           const std::vector<stories::InstructRecord>& all, const InstructEvalOptions& opt) {
  std::vector<stories::InstructRecord> records = all;
  if (opt.limit > 0 && records.size() > size_t(opt.limit)) records.resize(size_t(opt.limit));
  if (records.empty()) throw Error("no records to evaluate", "eval instruct");
  const int context = m.config().context;
  InstructEval ev;
  std::map<std::string, TaskScore> by_task;
  Progress bar("eval", double(records.size()), "prompts", opt.quiet);
  size_t done = 0;
  // Questions want a few tokens, stories hundreds: decode each kind in its own batches.
  for (const char* kind : {"question", "rouge", "write"}) {
    std::vector<size_t> idx;
    for (size_t i = 0; i < records.size(); ++i)
      if (task_kind(records[i]) == kind) idx.push_back(i);
    infer::GenerateOptions g;
    g.sampling.temperature = 0;  // greedy: the model's own best answer, reproducible
    g.max_tokens = opt.max_tokens > 0 ? opt.max_tokens : (std::string(kind) == "question" ? 32 : context);
    for (size_t s = 0; s < idx.size(); s += size_t(opt.batch)) {
      std::vector<std::string> prompts;
      std::vector<size_t> rows;
      for (size_t k = s; k < std::min(idx.size(), s + size_t(opt.batch)); ++k) {
        const auto& r = records[idx[k]];
        std::string p = tokenizer::alpaca_prompt(r.instruction, r.input);
        if (tok.encode(p).size() + 1 >= size_t(context)) {
          ++ev.skipped;
          continue;
        }
        prompts.push_back(std::move(p));
        rows.push_back(idx[k]);
      }
      auto outs = infer::generate_batch(m, tok, prompts, g);
      for (size_t k = 0; k < rows.size(); ++k) {
        const auto& r = records[rows[k]];
        json sample = {{"task", r.task}, {"instruction", r.instruction}, {"input", r.input}, {"reference", r.output},
                       {"output", outs[k].text}, {"finish", outs[k].finish}};
        auto& ts = by_task[r.task.empty() ? std::string(kind) : r.task];
        ts.task = r.task.empty() ? std::string(kind) : r.task;
        score_output(r, outs[k].text, ts, sample);
        for (const auto& w : r.words) sample["word_spelling"][w] = word_spelling(tok, w);
        ev.samples.push_back(std::move(sample));
      }
      done += std::min(idx.size(), s + size_t(opt.batch)) - s;
      bar.update(double(done));
    }
  }
  bar.finish();
  // Per task means; overall means weight every record alike.
  double sums[5] = {}, counts[3] = {};
  for (auto& [name, ts] : by_task) {
    if (ts.kind == "question") sums[0] += ts.exact, sums[1] += ts.contains, counts[0] += ts.n;
    if (ts.kind == "write") sums[2] += ts.words, sums[3] += ts.features, counts[1] += ts.n;
    if (ts.kind == "rouge") sums[4] += ts.rouge, counts[2] += ts.n;
    double n = std::max(1, ts.n);
    ts.exact /= n, ts.contains /= n, ts.words /= n, ts.features /= n, ts.rouge /= n;
    ev.n += ts.n;
    ev.tasks.push_back(ts);
  }
  if (counts[0]) ev.exact = sums[0] / counts[0], ev.contains = sums[1] / counts[0];
  if (counts[1]) ev.words = sums[2] / counts[1], ev.features = sums[3] / counts[1];
  if (counts[2]) ev.rouge = sums[4] / counts[2];
  collapse_checks(ev);
  if (ev.n == 0) throw Error("every record's prompt is longer than the model's context", "eval instruct");
  return ev;
}

std::vector<stories::InstructRecord> read_instruct_records(const std::string& path) {
  std::vector<stories::InstructRecord> out;
  // The record's reader takes a line of text: one more dump, cheap beside the decoding.
  for_each_jsonl(path, [&](const json& j, const std::string& where) { out.push_back(stories::instruct_from_json_line(j.dump(), where)); });
  if (out.empty()) throw Error("no records in the file", path);
  return out;
}

bool unquote_required_words(stories::InstructRecord& r) {
  bool changed = false;
  for (const auto& w : r.words) {
    const std::string quoted = "\"" + w + "\"";
    for (size_t at = r.instruction.find(quoted); at != std::string::npos; at = r.instruction.find(quoted, at)) {
      r.instruction.replace(at, quoted.size(), w);
      at += w.size();
      changed = true;
    }
  }
  return changed;
}

InstructComparison compare_instruct(const std::string& model_path, const std::string& base_path,
                                    const std::string& data_path, const InstructEvalOptions& opt) {
  auto records = read_instruct_records(data_path);
  int unquoted = 0;
  if (opt.unquote_words) {
    // Only the records the evaluation reads, so the count says how many it changed.
    const size_t n = opt.limit > 0 ? std::min(records.size(), size_t(opt.limit)) : records.size();
    for (size_t i = 0; i < n; ++i) unquoted += unquote_required_words(records[i]);
  }
  auto m = model::load_model_and_tokenizer(model_path);
  const InstructEval tuned = eval_instruct(*m.model, *m.tok, records, opt);
  InstructComparison c;
  c.skipped = tuned.skipped;
  c.report = {{"data", data_path}, {"model", model_path}, {"scores", tuned.to_json()}, {"samples", tuned.samples}};
  if (opt.unquote_words) c.report["unquoted_requests"] = unquoted;
  if (base_path.empty()) {
    c.table = instruct_table({{"model", &tuned}});
    return c;
  }
  auto b = model::load_model_and_tokenizer(base_path);
  const InstructEval base = eval_instruct(*b.model, *b.tok, records, opt);
  c.report["base"] = base_path;
  c.report["base_scores"] = base.to_json();
  c.table = instruct_table({{"base", &base}, {"fine-tuned", &tuned}});
  return c;
}

InstructComparison compare_finetuned(const std::vector<stories::InstructRecord>& records, const std::string& data_path,
                                     const std::string& base_path, const std::string& tuned_dir, bool lora,
                                     const InstructEvalOptions& opt) {
  auto b = model::load_model_and_tokenizer(base_path);
  const InstructEval base = eval_instruct(*b.model, *b.tok, records, opt);
  // A LoRA run's model/ is an adapter: the base with it folded in is the tuned model.
  auto t = model::load_model_and_tokenizer(lora ? base_path : tuned_dir);
  if (lora) train::apply_lora(*t.model, tuned_dir), t.alpaca_template = true;
  const InstructEval tuned = eval_instruct(*t.model, *t.tok, records, opt);
  InstructComparison c;
  c.skipped = tuned.skipped;
  c.report = {{"eval_data", data_path}, {"base", base.to_json()}, {"finetuned", tuned.to_json()}, {"samples", tuned.samples}};
  c.table = instruct_table({{"base", &base}, {"fine-tuned", &tuned}});
  return c;
}

std::string instruct_table(const std::vector<std::pair<std::string, const InstructEval*>>& cols) {
  auto pct = [](double v) { return v < 0 ? std::string("-") : fmt::format("{:.1f}%", 100 * v); };
  auto num = [](double v) { return v < 0 ? std::string("-") : fmt::format("{:.3f}", v); };
  std::string out = fmt::format("{:<34}", "instruction following");
  for (const auto& [name, e] : cols) out += fmt::format("{:>14}", name);
  out += "\n";
  auto row = [&](const std::string& label, auto get, auto fmt_v) {
    out += fmt::format("{:<34}", label);
    for (const auto& c : cols) out += fmt::format("{:>14}", fmt_v(get(*c.second)));
    out += "\n";
  };
  row("questions: contains the answer", [](const InstructEval& e) { return e.contains; }, pct);
  row("questions: exact match", [](const InstructEval& e) { return e.exact; }, pct);
  row("  not yes/no: contains the answer", [](const InstructEval& e) { return e.open_contains; }, pct);
  row("  share given the commonest answer", [](const InstructEval& e) { return e.same_answer; }, pct);
  row("writing: required words used", [](const InstructEval& e) { return e.words; }, pct);
  row("  words not in quotes", [](const InstructEval& e) { return e.words_unquoted; }, pct);
  row("  words in quotes", [](const InstructEval& e) { return e.words_quoted; }, pct);
  row("  words: space + quoted tokens", [](const InstructEval& e) { return e.words_same; }, pct);
  row("  words: one token after a space", [](const InstructEval& e) { return e.words_one_token; }, pct);
  row("  words: spelled otherwise", [](const InstructEval& e) { return e.words_other; }, pct);
  row("writing: features shown", [](const InstructEval& e) { return e.features; }, pct);
  row("  4-grams also in another story", [](const InstructEval& e) { return e.story_shared; }, pct);
  row("summaries, endings: ROUGE-L", [](const InstructEval& e) { return e.rouge; }, num);
  // Per task, the figure its kind is scored by.
  if (!cols.empty())
    for (const auto& t : cols[0].second->tasks) {
      std::string label = fmt::format("  {} ({}, n={})", t.task,
                                      t.kind == "question" ? "contains" : t.kind == "write" ? "words" : "ROUGE-L", t.n);
      out += fmt::format("{:<34}", label);
      for (const auto& c : cols) {
        double v = -1;
        for (const auto& u : c.second->tasks)
          if (u.task == t.task) v = t.kind == "question" ? u.contains : t.kind == "write" ? u.words : u.rouge;
        out += fmt::format("{:>14}", t.kind == "rouge" ? num(v) : pct(v));
      }
      out += "\n";
    }
  return out;
}

}  // namespace slm::eval
