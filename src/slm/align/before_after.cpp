#include "slm/align/before_after.h"

#include <filesystem>

#include <fmt/format.h>

#include "slm/eval/instruct_eval.h"
#include "slm/eval/report.h"
#include "slm/eval/story_eval.h"
#include "slm/model/model_files.h"
#include "slm/train/loss_plot.h"
#include "slm/train/metrics_file.h"
#include "slm/util/atomic_file.h"

namespace slm::align {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

eval::ModelReport story_report(const std::string& name, const std::string& path, int n, bool quiet) {
  auto m = model::load_model_and_tokenizer(path);
  eval::StoryEvalOptions so;
  so.quiet = quiet;
  auto ev = eval::eval_stories(*m.model, *m.tok, eval::builtin_story_prompts(n, eval::kBeforeAfterStorySeed, m.alpaca_template), so);
  return {{"name", name}, {"path", path}, {"stories", {{"metrics", ev.metrics}, {"samples", ev.samples}}},
          {"curve", eval::read_training_curve(path)}};
}

}  // namespace

std::string before_after(const std::string& base, const std::string& tuned, const std::string& out_dir,
                         const BeforeAfterOptions& opt) {
  fs::create_directories(out_dir);
  std::string table;
  if (!opt.records.empty()) {
    eval::InstructEvalOptions io;
    io.limit = opt.limit;
    io.quiet = opt.quiet;
    auto c = eval::compare_instruct(tuned, base, opt.records, io);
    write_file_atomic((fs::path(out_dir) / "instruct.json").string(), c.report.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    table += c.table;
  }
  if (opt.stories > 0) {
    std::vector<eval::ModelReport> models = {story_report("base", base, opt.stories, opt.quiet),
                                             story_report("tuned", tuned, opt.stories, opt.quiet)};
    eval::write_report(out_dir, models);
    table += fmt::format("{:<34}{:>14}{:>14}\n", "stories (eval stories)", "base", "tuned");
    for (const char* k : {"instruct.required_words", "instruct.features_shown", "age.child_vocab_share",
                          "grammar.misspelled_share", "grammar.unfinished_share", "repetition.repeated_4grams",
                          "diversity.distinct_2", "mean_words"}) {
      auto get = [&](const eval::ModelReport& m) {
        const json& v = m["stories"]["metrics"].value(k, json());
        return v.is_number() ? fmt::format("{:.3f}", v.get<double>()) : std::string("-");
      };
      table += fmt::format("  {:<32}{:>14}{:>14}\n", k, get(models[0]), get(models[1]));
    }
  }
  return table;
}

void write_metric_curve(const std::string& run_dir, const std::string& key, const std::string& file,
                        const std::string& title) {
  std::vector<train::CurvePoint> reward, none;
  train::for_each_metrics_record((fs::path(run_dir) / "metrics.jsonl").string(), [&](const json& j) {
    if (j.contains(key) && j[key].is_number()) reward.push_back({j.value("step", 0.0), j[key].get<double>()});
  });
  if (!reward.empty()) train::write_loss_svg((fs::path(run_dir) / file).string(), reward, none, title);
}

}  // namespace slm::align
