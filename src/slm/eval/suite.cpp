#include "slm/eval/suite.h"

#include <filesystem>

#include <fmt/format.h>

#include "slm/data/pack.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/eval/multiple_choice.h"
#include "slm/eval/perplexity.h"
#include "slm/eval/story_eval.h"
#include "slm/eval/story_files.h"
#include "slm/model/model_files.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::eval {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The validation shards of the run the model came from, if its run.json names a folder.
std::string run_val_shards(const std::string& model_dir) {
  fs::path run = fs::path(model_dir).parent_path() / "run.json";
  if (!fs::exists(run)) return "";
  auto j = json::parse(read_file(run.string()), nullptr, false);
  if (j.is_discarded() || !j.contains("data") || !j["data"].is_string()) return "";
  std::string d = j["data"];
  return fs::is_directory(d) && !data::list_shards(d, "val").empty() ? d : "";
}

// "stories: 16 written; child vocabulary 93.1%, misspelled 0.40%"
std::string story_summary(const std::string& what, const json& metrics) {
  return fmt::format("stories: {}; child vocabulary {:.1f}%, misspelled {:.2f}%", what,
                     100 * metrics["age.child_vocab_share"].get<double>(), 100 * metrics["grammar.misspelled_share"].get<double>());
}

}  // namespace

ModelReport run_suite(const std::string& model_dir, const SuiteOptions& opt) {
  auto loaded = model::load_model_and_tokenizer(model_dir);  // a folder or a .gguf
  auto& model = loaded.model;
  const tokenizer::Tokenizer& tok = *loaded.tok;
  const bool templated = loaded.alpaca_template;
  // A short name for charts: "pretrain" for runs/q/pretrain/model, else the last part.
  fs::path p = fs::path(model_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.filename() == "model" && p.has_parent_path() ? p.parent_path().filename().string() : p.filename().string();
  ModelReport r = {{"name", name}, {"path", model_dir}, {"templated", templated}};
  auto note = [&](const std::string& s) {
    if (!opt.quiet) fmt::print(stderr, "{}\n", s);
  };

  if (opt.do_loss) {
    std::string data = opt.loss_data.empty() ? run_val_shards(model_dir) : opt.loss_data;
    if (!data.empty()) {
      auto p = eval_perplexity(*model, tok, data);
      r["loss"] = {{"data", data}, {"loss", p.loss}, {"perplexity", p.perplexity}, {"tokens", p.tokens}};
      if (p.bits_per_byte >= 0) r["loss"]["bits_per_byte"] = p.bits_per_byte;
      note(fmt::format("loss {:.4f}, perplexity {:.2f} on {} tokens of {}", p.loss, p.perplexity, p.tokens, data));
    } else {
      note("loss: no data given (--data) and no validation shards found beside the run; skipped");
    }
  }

  if (opt.do_stories) {
    auto prompts = opt.story_prompts.empty() ? builtin_story_prompts(opt.stories, eval_story_seed(opt.seed), templated)
                                             : read_story_prompts(opt.story_prompts);
    StoryEvalOptions so;
    so.max_tokens = opt.story_tokens;
    so.seed = opt.seed;
    so.train_text = opt.train_text;
    so.quiet = opt.quiet;
    auto ev = eval_stories(*model, tok, prompts, so);
    if (!opt.judge.url.empty()) {
      // The judge grades the continuations of story beginnings (the TinyStories setup).
      std::vector<std::pair<std::string, std::string>> pairs;
      std::vector<size_t> idx;
      for (size_t i = 0; i < prompts.size(); ++i)
        if (!prompts[i].beginning.empty()) {
          const std::string story = ev.samples[i]["story"];
          pairs.push_back({prompts[i].beginning, story.substr(std::min(story.size(), prompts[i].beginning.size()))});
          idx.push_back(i);
        }
      auto judged = judge_stories(pairs, opt.judge, opt.quiet);
      double sums[4] = {};
      int ok = 0;
      std::string lines;
      for (size_t k = 0; k < judged.size(); ++k) {
        const auto& j = judged[k];
        ev.samples[idx[k]]["judge"] = judgment_json(j);
        if (j.ok) sums[0] += j.grammar, sums[1] += j.creativity, sums[2] += j.consistency, sums[3] += j.plot, ++ok;
        lines += json{{"prompt", pairs[k].first}, {"completion", pairs[k].second}, {"scores", judgment_json(j)},
                      {"judge", opt.judge.model}, {"model", model_dir}}
                     .dump(-1, ' ', false, json::error_handler_t::replace) +
                 "\n";
      }
      json means = json::object();
      if (ok)
        means = {{"grammar", sums[0] / ok}, {"creativity", sums[1] / ok}, {"consistency", sums[2] / ok}, {"plot", sums[3] / ok}};
      r["judge"] = {{"judge", opt.judge.model}, {"url", opt.judge.url}, {"judged", ok},
                    {"failed", int(judged.size()) - ok}, {"means", means}};
      if (!opt.judged_out.empty()) write_file_atomic(opt.judged_out, lines);
      note(fmt::format("judge: {} of {} stories graded ({} failed)", ok, judged.size(), int(judged.size()) - ok));
    }
    r["stories"] = {{"metrics", ev.metrics}, {"samples", ev.samples}};
    note(story_summary(fmt::format("{} written", prompts.size()), ev.metrics));
  }

  if (opt.do_fewshot) {
    std::vector<McItem> items = opt.tasks.empty() ? builtin_mc_tasks(opt.mc_items, opt.seed * 104729 + 17) : read_mc_file(opt.tasks);
    std::vector<McItem> shots = !opt.shots_from.empty() ? read_mc_file(opt.shots_from)
                                : opt.tasks.empty()     ? builtin_mc_tasks(opt.mc_items, opt.seed * 104729 + 18)
                                                        : items;
    std::map<std::string, std::vector<McItem>> by_task;
    for (auto& it : items) by_task[it.task.empty() ? fs::path(opt.tasks).stem().string() : it.task].push_back(it);
    for (auto& s : shots)
      if (s.task.empty()) s.task = fs::path(opt.tasks.empty() ? opt.shots_from : opt.tasks).stem().string();
    json rows = json::array();
    for (auto& [task, its] : by_task) {
      for (auto& it : its) it.task = task;
      for (int k : opt.ks) {
        auto res = score_mc(*model, tok, its, shots, k, opt.seed);
        rows.push_back({{"task", task}, {"k", k}, {"acc", res.acc}, {"acc_norm", res.acc_norm}, {"n", res.n}});
        note(fmt::format("few-shot {} k={}: accuracy {:.1f}% (length-normalised {:.1f}%) on {} items", task, k,
                         100 * res.acc, 100 * res.acc_norm, res.n));
      }
    }
    r["fewshot"] = rows;
  }
  auto curve = read_training_curve(model_dir);
  if (!curve.is_null()) r["curve"] = curve;
  return r;
}

ModelReport score_text_file(const SuiteOptions& opt) {
  auto texts = read_story_texts(opt.story_text);
  // Said on stdout, not only as a note: a misread file gives numbers that look fine.
  fmt::print("{}: {} stories, read as {}\n", opt.story_text, texts.stories.size(), texts.form);
  auto ev = score_stories({}, texts.stories, opt.train_text);
  if (!opt.quiet) fmt::print(stderr, "{}\n", story_summary(fmt::format("{} scored", texts.stories.size()), ev.metrics));
  return {{"name", fs::path(opt.story_text).filename().string()},
          {"path", opt.story_text},
          {"stories", {{"metrics", ev.metrics}, {"samples", ev.samples}, {"file", opt.story_text}, {"form", texts.form}}}};
}

std::string evaluate_and_report(const std::vector<std::string>& model_dirs, SuiteOptions opt, const std::string& out_dir) {
  if (!opt.judge.url.empty()) {  // the judge's cache lives in OUT; otherwise the report makes it
    fs::create_directories(out_dir);
    if (opt.judge.cache_path.empty()) opt.judge.cache_path = (fs::path(out_dir) / "judge_cache.jsonl").string();
  }
  if (opt.judged_out.empty()) opt.judged_out = (fs::path(out_dir) / "judged.jsonl").string();
  std::vector<ModelReport> reports;
  if (!opt.story_text.empty()) {
    if (!model_dirs.empty()) throw Error("--text scores stories without a model: give --text or a model, not both", "--text");
    reports.push_back(score_text_file(opt));
  }
  for (size_t i = 0; i < model_dirs.size(); ++i) {
    if (model_dirs.size() > 1) {
      opt.judged_out = (fs::path(out_dir) / fmt::format("judged_{}.jsonl", i + 1)).string();
      if (!opt.quiet) fmt::print(stderr, "== {}\n", model_dirs[i]);
    }
    reports.push_back(run_suite(model_dirs[i], opt));
  }
  if (reports.empty()) throw Error("nothing to evaluate: give --model (or --compare A B)", "slm eval");
  return write_report(out_dir, reports);
}

}  // namespace slm::eval
