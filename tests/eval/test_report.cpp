// The report speaks to people: every figure the story metrics emit has words, an
// explanation and a direction in eval/metric_labels, and report.html shows those words,
// not the keys of report.json.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "slm/eval/metric_labels.h"
#include "slm/eval/report.h"
#include "slm/eval/story_eval.h"
#include "slm/train/expert_load_plot.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::eval;
using nlohmann::json;

namespace {

// Stories with requests and a training text, so that every figure score_stories has is there.
StoryEval every_story_figure() {
  test::TempDir d;
  test::spit(d / "train.txt", "Tom had a red ball. He liked it a lot.");
  StoryPrompt request;
  request.prompt = "Words: ball";
  request.words = {"ball"};
  request.features = {"Dialogue"};
  std::vector<StoryPrompt> prompts = {request, StoryPrompt{"Sue", "Sue", {}, {}}};
  return score_stories(prompts, {"Tom had a red ball. \"Hi,\" he said.", "Sue sat. She was happy."}, d / "train.txt");
}

// The text a reader sees: tags, and so attributes, removed.
std::string visible_text(const std::string& html) { return std::regex_replace(html, std::regex("<[^>]*>"), " "); }

}  // namespace

TEST(MetricLabels, EveryStoryFigureHasWords) {
  auto ev = every_story_figure();
  ASSERT_TRUE(ev.metrics.contains("creativity.novel_4grams"));
  ASSERT_TRUE(ev.metrics.contains("instruct.features_shown"));
  for (const auto& [key, v] : ev.metrics.items()) {
    if (key == "stories") continue;  // the count, shown as such
    const MetricLabel* m = find_metric_label(key);
    ASSERT_NE(m, nullptr) << key << " has no entry in metric_labels()";
    EXPECT_FALSE(m->explanation.empty()) << key;
    EXPECT_EQ(m->label.find('.'), std::string_view::npos) << key << ": a label is words, not a key";
  }
  for (const auto& [key, v] : ev.samples[0].items()) {
    if (v.is_number() && key != "words" && key != "unfinished") {
      EXPECT_NE(find_metric_label("sample." + key), nullptr) << "sample." << key;
    }
  }
}

TEST(MetricLabels, DirectionsInWords) {
  EXPECT_EQ(metric_label("grammar.misspelled_share").better, Better::Lower);
  EXPECT_EQ(metric_label("age.child_vocab_share").better, Better::Higher);
  EXPECT_EQ(better_words(Better::Higher), "higher is better");
  EXPECT_EQ(better_arrow(Better::Lower), "↓");
  EXPECT_EQ(metric_label("no.such_key").label, "no.such_key");  // still shown, as it is
  std::set<std::string_view> keys;
  for (const auto& m : metric_labels()) EXPECT_TRUE(keys.insert(m.key).second) << "twice: " << m.key;
}

TEST(Report, ShowsWordsNotKeys) {
  auto ev = every_story_figure();
  ModelReport r = {{"name", "m"}, {"path", "m"}, {"stories", {{"metrics", ev.metrics}, {"samples", ev.samples}}}};
  const std::string text = visible_text(report_html({r}));
  for (const char* words : {"misspelled words", "share of child vocabulary", "higher is better", "lower is better",
                            "share of words not in Hunspell", "new 4-word phrases ↑"})
    EXPECT_NE(text.find(words), std::string::npos) << words;
  std::smatch raw;
  EXPECT_FALSE(std::regex_search(text, raw, std::regex(R"(\b(age|grammar|diversity|instruct|creativity)\.[a-z_0-9]+)")))
      << "a raw key is shown: " << raw.str();
}

TEST(Report, MergeTakesEveryModelAndRefusesANonReport) {
  test::TempDir d;
  ModelReport a = {{"name", "a"}, {"path", "a"}}, b = {{"name", "b"}, {"path", "b"}};
  test::spit(d / "one.json", json{{"models", {a}}}.dump());
  test::spit(d / "two.json", json{{"models", {b}}}.dump());
  merge_reports({d / "one.json", d / "two.json"}, d / "both");
  auto merged = json::parse(test::slurp(d / "both/report.json"));
  EXPECT_EQ(merged["models"].size(), 2u);
  test::spit(d / "bad.json", "[1, 2]");
  try {
    merge_reports({d / "one.json", d / "bad.json"}, d / "never");
    FAIL() << "a JSON array was taken for a report";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "not a report.json (expected an object with a 'models' array) (" + d / "bad.json" + ")");
  }
  EXPECT_FALSE(std::filesystem::exists(d / "never")) << "a refused merge writes nothing";
}

// A mixture-of-experts run's expert-load heat map is in the report of its model, and stays
// there when reports are merged (report.json keeps the picture).
TEST(Report, ShowsAnMoeRunsExpertLoad) {
  test::TempDir d;
  std::string metrics;
  for (int step = 1; step <= 4; ++step)
    metrics += json{{"step", step}, {"loss", 5.0 - step * 0.1}, {"expert_tokens", {{10, 30, 20, 4 * step}}}}.dump() + "\n";
  std::filesystem::create_directories(d / "run");
  test::spit(d / "run/metrics.jsonl", metrics);
  ASSERT_TRUE(train::write_expert_load_svg(d / "run/metrics.jsonl", d / "run/expert_load.svg", "expert load"));
  const auto curve = read_training_curve(d / "run/model");
  ASSERT_TRUE(curve.contains("expert_load_svg"));
  ModelReport r = {{"name", "moe"}, {"path", d / "run/model"}, {"curve", curve}};
  const std::string html = report_html({r});
  EXPECT_NE(html.find("Expert load: moe"), std::string::npos);
  EXPECT_NE(html.find(test::slurp(d / "run/expert_load.svg")), std::string::npos);
  write_report(d / "one", {r});
  merge_reports({d / "one/report.json"}, d / "merged");
  EXPECT_NE(test::slurp(d / "merged/report.html").find("Expert load: moe"), std::string::npos);
  // A dense run has no picture and no heading.
  test::TempDir dense;
  std::filesystem::create_directories(dense / "run");
  test::spit(dense / "run/metrics.jsonl", json{{"step", 1}, {"loss", 5.0}}.dump() + "\n");
  ModelReport plain = {{"name", "dense"}, {"path", "p"}, {"curve", read_training_curve(dense / "run/model")}};
  EXPECT_EQ(report_html({plain}).find("Expert load"), std::string::npos);
}
