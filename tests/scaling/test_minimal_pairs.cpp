// The zero-shot minimal pairs: well-formed, balanced pairs from the story world; a scorer
// that prefers the grammatical sentence scores 1, one that cannot tell them apart 0.5, a
// model with all weights zero (uniform next-token distribution) 0.5, and the charts'
// PNG copies come from a real renderer with the SVG's size, or a clear reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "slm/scaling/minimal_pairs.h"
#include "slm/scaling/plot.h"
#include "slm/scaling/plot_png.h"
#include "slm/util/atomic_file.h"
#include "test_util.h"
#include "tiny_model.h"

namespace slm::scaling {
namespace {

namespace fs = std::filesystem;

// The words of s, split at spaces.
std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  size_t a = 0;
  for (size_t b; (b = s.find(' ', a)) != std::string::npos; a = b + 1) out.push_back(s.substr(a, b - a));
  out.push_back(s.substr(a));
  return out;
}

TEST(MinimalPairs, EachPairDiffersInOneWordAndEachTaskIsBalanced) {
  auto pairs = minimal_pairs(40, 3);
  ASSERT_EQ(pairs.size(), 4u * 40u);
  std::map<std::string, std::map<std::string, int>> good_word;  // task -> the good sentence's changed word -> count
  for (const auto& p : pairs) {
    auto g = words(p.good), b = words(p.bad);
    ASSERT_EQ(g.size(), b.size()) << p.good << " / " << p.bad;
    int diff = 0;
    std::string changed;
    for (size_t i = 0; i < g.size(); ++i)
      if (g[i] != b[i]) ++diff, changed = g[i];
    EXPECT_EQ(diff, 1) << p.good << " / " << p.bad;
    if (p.task == "agreement" || p.task == "pronoun_gender" || p.task == "article") good_word[p.task][changed]++;
    if (p.task == "determiner_number") good_word[p.task][g[2]]++;  // "a"/"an" or "two"
  }
  // Half the pairs want each form: a blind preference for one word scores chance.
  EXPECT_EQ(good_word["agreement"]["was"], 20);
  EXPECT_EQ(good_word["agreement"]["were"], 20);
  EXPECT_EQ(good_word["pronoun_gender"]["she"], 20);
  EXPECT_EQ(good_word["pronoun_gender"]["he"], 20);
  EXPECT_EQ(good_word["article"]["an"], 20);
  EXPECT_EQ(good_word["article"]["a"], 20);
  EXPECT_EQ(good_word["determiner_number"]["two"], 20);
  EXPECT_EQ(minimal_pairs(40, 3)[17].good, pairs[17].good);  // the seed fixes them
  EXPECT_NE(minimal_pairs(40, 4)[17].good, pairs[17].good);
  // Known forms from the grammar's rules.
  bool saw_an_apple = false;
  for (const auto& p : minimal_pairs(400, 1)) saw_an_apple |= p.good.find(" an apple.") != std::string::npos;
  EXPECT_TRUE(saw_an_apple);
}

TEST(MinimalPairs, PreferringTheGrammaticalSentenceScoresOneAndAUniformScorerChance) {
  const auto pairs = minimal_pairs(30, 1);
  std::set<std::string> good;
  for (const auto& p : pairs) good.insert(p.good);
  auto knows = score_minimal_pairs(pairs, [&](const MinimalPair& p) -> std::array<double, 2> {
    return {good.count(p.good) ? -1.0 : -9.0, good.count(p.bad) ? -1.0 : -9.0};
  });
  auto blind = score_minimal_pairs(pairs, [](const MinimalPair&) -> std::array<double, 2> { return {-3.0, -3.0}; });
  auto wrong = score_minimal_pairs(pairs, [](const MinimalPair&) -> std::array<double, 2> { return {-9.0, -1.0}; });
  ASSERT_EQ(knows.size(), minimal_pair_task_names().size());
  for (size_t i = 0; i < knows.size(); ++i) {
    EXPECT_EQ(knows[i].k, 0);
    EXPECT_EQ(knows[i].n, 30);
    EXPECT_EQ(knows[i].chance, 0.5);
    EXPECT_DOUBLE_EQ(knows[i].acc.p, 1.0);
    EXPECT_GT(knows[i].acc.lo, 0.5);  // present
    EXPECT_DOUBLE_EQ(blind[i].acc.p, 0.5);
    EXPECT_TRUE(blind[i].acc.lo < 0.5 && blind[i].acc.hi > 0.5);  // absent
    EXPECT_DOUBLE_EQ(wrong[i].acc.p, 0.0);
  }
}

TEST(MinimalPairs, AModelWithAUniformDistributionScoresChance) {
  test::TinyModel tm(96);
  std::fill(tm.m->params(), tm.m->params() + tm.m->num_params(), 0.f);  // every logit 0
  // Pairs whose sentences have the same number of tokens tie exactly (half a point each);
  // the others are balanced so that a preference for the shorter sentence is chance too.
  auto scores = score_minimal_pairs(minimal_pairs(20, 2), model_pair_scorer(*tm.m, *tm.tok));
  ASSERT_EQ(scores.size(), 4u);
  for (const auto& s : scores) {
    EXPECT_TRUE(s.acc.lo < 0.5 && s.acc.hi > 0.5) << s.task << " " << s.acc.p;
  }
  // A scaled random model differs from chance by its own preferences, scored the same way.
  test::TinyModel r(96);
  auto lp = model_pair_scorer(*r.m, *r.tok)(minimal_pairs(2, 2)[0]);
  EXPECT_NE(lp[0], lp[1]);
  EXPECT_LT(lp[0], 0.0);
}

// The width and height a PNG's IHDR chunk holds.
std::pair<uint32_t, uint32_t> png_size(const std::string& bytes) {
  auto be32 = [&](size_t at) {
    return uint32_t(uint8_t(bytes[at])) << 24 | uint32_t(uint8_t(bytes[at + 1])) << 16 |
           uint32_t(uint8_t(bytes[at + 2])) << 8 | uint32_t(uint8_t(bytes[at + 3]));
  };
  return {be32(16), be32(20)};
}

TEST(PlotPng, APngWithTheSvgsSizeOrAClearReason) {
  test::TempDir d;
  PlotSeries s{"runs", 0, {{1e4, 4.0}, {1e5, 3.0}, {1e6, 2.5}}, true, true, false};
  const std::string svg = svg_plot({"loss", "N", "loss", true, true}, {s});
  const std::string path = d / "chart.svg";
  write_file_atomic(path, svg);
  const std::string why = svg_to_png(path);
  if (why.find("not found") != std::string::npos) GTEST_SKIP() << why;  // scripts/setup.sh installs librsvg2-bin
  ASSERT_EQ(why, "");
  const std::string png = read_file((d / "chart.png"));
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.compare(0, 8, "\x89PNG\r\n\x1a\n"), 0);
  // The SVG's width="W" height="H".
  auto attr = [&](const std::string& name) {
    size_t a = svg.find(name + "=\"") + name.size() + 2;
    return uint32_t(std::stoul(svg.substr(a, svg.find('"', a) - a)));
  };
  EXPECT_EQ(png_size(png), std::make_pair(attr("width"), attr("height")));
  // A missing converter: a reason naming it and the package, no PNG, the SVG kept.
  fs::remove(d / "chart.png");
  const std::string missing = svg_to_png(path, "slm-no-such-svg-converter");
  EXPECT_NE(missing.find("slm-no-such-svg-converter was not found"), std::string::npos) << missing;
  EXPECT_NE(missing.find("librsvg2-bin"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "chart.png"));
  EXPECT_TRUE(fs::exists(path));
  // A file the renderer cannot read: its failure, not a crash, and no PNG.
  const std::string bad = d / "bad.svg";
  write_file_atomic(bad, "not an svg");
  EXPECT_NE(svg_to_png(bad).find("failed"), std::string::npos);
  EXPECT_FALSE(fs::exists(d / "bad.png"));
}

}  // namespace
}  // namespace slm::scaling
