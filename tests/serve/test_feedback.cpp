#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "slm/serve/feedback.h"
#include "slm/serve/feedback_stats.h"
#include "slm/serve/openai_api.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "test_util.h"

using namespace slm;
using serve::Rating;

namespace {

Rating rated(const std::string& prompt, const std::string& story, int stars, int thumbs = 0) {
  Rating r;
  r.model = "m";
  r.prompt = prompt;
  r.story = story;
  r.grammar = r.creativity = r.consistency = r.plot = r.age = stars;
  r.thumbs = thumbs;
  return r;
}

std::vector<std::string> lines(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(test::slurp(path));
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// parse(body) must throw a 400 naming `field`.
template <class Parse>
void expect_refused(Parse parse, const std::string& body, const std::string& field) {
  try {
    parse(body);
    ADD_FAILURE() << "accepted " << body;
  } catch (const serve::ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.param, field) << body;
  }
}

}  // namespace

TEST(Feedback, ReadsARatingAndNamesABadField) {
  auto r = serve::parse_rating(R"({"model":"m","prompt":"a cat story","story":"Tom.","grammar":5,"age_appropriate":4,
                                   "thumbs":"up","edited":"Tom the cat."})");
  EXPECT_EQ(r.prompt, "a cat story");
  EXPECT_EQ(r.grammar, 5);
  EXPECT_EQ(r.age, 4);
  EXPECT_EQ(r.thumbs, 1);
  EXPECT_EQ(r.edited, "Tom the cat.");
  for (auto [body, field] : {std::pair{R"({"story":"s"})", "prompt"}, {R"({"prompt":"p","story":"s","plot":6})", "plot"},
                             {R"({"prompt":"p","story":"s","thumbs":"sideways"})", "thumbs"}})
    expect_refused(serve::parse_rating, body, field);
}

TEST(Feedback, ExportsGoodAndEditedStoriesAndPreferences) {
  test::TempDir t;
  {
    serve::FeedbackStore db(t / "r.db");
    db.add(rated("dog story", "A dog ran.", 5));
    db.add(rated("dog story", "Dog dog dog.", 1, -1));
    Rating edited = rated("cat story", "Cat sat", 2);
    edited.edited = "The cat sat on the mat.";
    db.add(edited);
    db.add(rated("sun story", "The sun.", 3));  // middling, not edited: neither list
  }
  auto n = serve::export_feedback(t / "r.db", t / "out");
  EXPECT_EQ(n.ratings, 4u);
  auto sft = lines(t / "out/sft.jsonl");
  ASSERT_EQ(sft.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(sft[0]), (nlohmann::json{{"instruction", "dog story"}, {"input", ""}, {"output", "A dog ran."}}));
  EXPECT_EQ(nlohmann::json::parse(sft[1])["output"], "The cat sat on the mat.");
  auto prefs = lines(t / "out/preferences.jsonl");
  ASSERT_EQ(prefs.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(prefs[0]),
            (nlohmann::json{{"prompt", "cat story"}, {"chosen", "The cat sat on the mat."}, {"rejected", "Cat sat"}}));
  EXPECT_EQ(nlohmann::json::parse(prefs[1]),
            (nlohmann::json{{"prompt", "dog story"}, {"chosen", "A dog ran."}, {"rejected", "Dog dog dog."}}));
  EXPECT_THROW(serve::export_feedback(t / "missing.db", t / "out2"), Error);
  EXPECT_FALSE(std::filesystem::exists(t / "out2"));
}

// A process killed (SIGKILL) in the middle of a burst of ratings loses none it acknowledged.
TEST(Feedback, AcknowledgedRatingsSurviveKill9) {
  test::TempDir t;
  const std::string path = t / "r.db";
  serve::FeedbackStore(path).add(rated("first", "x", 3));  // the file exists before the burst
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    serve::FeedbackStore db(path);
    for (int i = 0;; ++i) {
      db.add(rated("burst", "story " + std::to_string(i), 4));
      char ack = 'a';
      if (write(fds[1], &ack, 1) != 1) _exit(1);  // acknowledged: add() has returned
    }
  }
  close(fds[1]);
  int acked = 0;
  char c;
  while (acked < 40 && read(fds[0], &c, 1) == 1) ++acked;
  kill(child, SIGKILL);
  while (read(fds[0], &c, 1) == 1) ++acked;  // acks written before the kill landed
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto all = serve::FeedbackStore(path).all();
  EXPECT_GE(int(all.size()) - 1, acked);
  EXPECT_GE(acked, 40);
}

TEST(Feedback, ArenaPicksAreReadStoredAndExportedAsPreferences) {
  auto p = serve::parse_arena_pick(
      R"({"prompt":"a cat story","model_a":"big","story_a":"A cat.","model_b":"small","story_b":"Cat cat.","winner":"a","rater":"ann"})");
  EXPECT_EQ(p.model_b, "small");
  EXPECT_EQ(p.rater, "ann");
  for (auto [body, field] : {std::pair{R"({"prompt":"p","story_a":"a","story_b":"b","winner":"c"})", "winner"},
                             {R"({"prompt":"p","story_b":"b","winner":"a"})", "story_a"}})
    expect_refused(serve::parse_arena_pick, body, field);
  test::TempDir t;
  {
    serve::FeedbackStore db(t / "r.db");
    db.add(p);
    db.add(serve::ArenaPick{"dog story", "big", "Dog one.", "big", "Dog two.", "b", ""});  // two samples of one model
    db.add(serve::ArenaPick{"sun story", "big", "Sun.", "small", "Moon.", "tie", ""});     // no preference
    EXPECT_EQ(db.arena().size(), 3u);
    EXPECT_EQ(db.arena()[1].winner, "b");
  }
  auto n = serve::export_feedback(t / "r.db", t / "out");
  EXPECT_EQ(n.arena, 3u);
  auto prefs = lines(t / "out/preferences.jsonl");
  ASSERT_EQ(prefs.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(prefs[0]), (nlohmann::json{{"prompt", "a cat story"}, {"chosen", "A cat."}, {"rejected", "Cat cat."}}));
  EXPECT_EQ(nlohmann::json::parse(prefs[1])["chosen"], "Dog two.");
}

TEST(FeedbackStats, EloAndBradleyTerryMatchTheirDefinitions) {
  // One win from equal ratings moves each side by K/2.
  auto elo = serve::elo_ratings({{"a", "b", 1.0}});
  EXPECT_DOUBLE_EQ(elo["a"], 1002);
  EXPECT_DOUBLE_EQ(elo["b"], 998);
  // a beats b 3 times of 4; with the virtual tie, a's wins are 3.5 of 5: p_a / p_b = 7/3.
  auto bt = serve::bradley_terry({{"a", "b", 1}, {"a", "b", 1}, {"b", "a", 1}, {"b", "a", 0}});
  EXPECT_NEAR(bt["a"] - bt["b"], 400 * std::log10(7.0 / 3.0), 1e-6);
  EXPECT_NEAR(bt["a"] + bt["b"], 2000, 1e-6) << "geometric mean of the strengths at 1 (1000 on Elo's scale)";
  // Three models in a cycle of equal records: all equal.
  auto cycle = serve::bradley_terry({{"a", "b", 1}, {"b", "c", 1}, {"c", "a", 1}});
  EXPECT_NEAR(cycle["a"], 1000, 1e-6);
  EXPECT_NEAR(cycle["c"], 1000, 1e-6);
}

TEST(FeedbackStats, KrippendorffAlphaAndSpearmanOnKnownValues) {
  EXPECT_DOUBLE_EQ(*serve::krippendorff_alpha({{1, 1}, {5, 5}, {3}}), 1.0) << "full agreement; a lone value is skipped";
  // Pooled 1,5,5,1: D_o = 16, D_e = 128 / 12; alpha = 1 - 16 / (32/3) = -0.5.
  EXPECT_NEAR(*serve::krippendorff_alpha({{1, 5}, {5, 1}}), -0.5, 1e-12);
  EXPECT_FALSE(serve::krippendorff_alpha({{4, 4}, {4, 4}}));
  EXPECT_FALSE(serve::krippendorff_alpha({{4}}));
  EXPECT_DOUBLE_EQ(*serve::spearman({1, 2, 3, 4}, {10, 20, 30, 45}), 1.0);
  EXPECT_DOUBLE_EQ(*serve::spearman({1, 2, 3, 4}, {9, 7, 5, 1}), -1.0);
  // Ties get their mean rank: x ranks 1.5 1.5 3 4 against 1 2 3 4.
  EXPECT_NEAR(*serve::spearman({1, 1, 2, 3}, {1, 2, 3, 4}), 0.9486832980505138, 1e-12);
  EXPECT_FALSE(serve::spearman({1, 2}, {1, 2}));
}

TEST(FeedbackStats, SummarisesAgreementArenaAndMetricsFromTheDatabase) {
  test::TempDir t;
  {
    serve::FeedbackStore db(t / "r.db");
    const std::vector<std::pair<std::string, int>> stories = {
        {"Tom had a red ball. He liked to play with it every day. The end.", 5},
        {"Lily saw a big dog. She was happy. They played in the park.", 4},
        {"the the dog dog ran ran an ball a apple", 1},
        {"Mia found a little cat under the tree. She gave it some milk.", 4}};
    for (const auto& [story, s] : stories)
      for (const char* who : {"ann", "bob"}) {
        Rating r = rated("a story", story, std::string(who) == "bob" && s > 1 ? s - 1 : s);
        r.rater = who;
        db.add(r);
      }
    for (int i = 0; i < 6; ++i) db.add(serve::ArenaPick{"p", "big", "x" + std::to_string(i), "small", "y", i < 5 ? "a" : "b", ""});
  }
  serve::StatsOptions o;
  o.bootstrap = 200;
  const auto s = serve::feedback_stats(t / "r.db", o);
  EXPECT_EQ(s["counts"]["ratings"], 8);
  EXPECT_EQ(s["counts"]["stories"], 4);
  EXPECT_EQ(s["counts"]["named_raters"], 2);
  const auto& grammar = s["agreement"][1];
  EXPECT_EQ(grammar["field"], "grammar");
  EXPECT_EQ(grammar["items"], 4);
  EXPECT_GT(grammar["alpha"].get<double>(), 0.5) << "bob is one star below ann: close, not exact";
  EXPECT_EQ(grammar["exact"], 0.25);
  EXPECT_EQ(grammar["within_one"], 1.0);
  const auto& models = s["arena"]["models"];
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0]["model"], "big");
  EXPECT_NEAR(models[0]["win_rate"].get<double>(), 5.0 / 6, 1e-12);
  EXPECT_LT(models[0]["bradley_terry_95"][0].get<double>(), models[0]["bradley_terry"].get<double>());
  EXPECT_GT(models[0]["elo"].get<double>(), models[1]["elo"].get<double>());
  EXPECT_EQ(s["metrics"]["stories"], 4);
  for (const char* m : {"words", "child_vocab_share", "fk_grade", "misspelled_share", "unfinished", "repeated_4grams"})
    EXPECT_TRUE(s["metrics"]["spearman"].contains(m)) << m;
  EXPECT_TRUE(s["judge"].is_null());
  EXPECT_EQ(s["agreement"].back()["field"], "arena_pick");
  EXPECT_EQ(s["agreement"].back()["items"], 0) << "each pair was picked by one person only";
  const std::string text = serve::format_stats(s);
  EXPECT_NE(text.find("Bradley-Terry"), std::string::npos);
  EXPECT_NE(text.find("big"), std::string::npos);
}

TEST(FeedbackStats, AgreementOnArenaPicksFollowsThePairNotItsOrder) {
  test::TempDir t;
  {
    serve::FeedbackStore db(t / "r.db");
    // Pair 1: ann and bob prefer "good" (bob saw it on the other side); cat's later pick
    // replaces her earlier one. Pair 2: ann says a tie, bob prefers one story.
    db.add(serve::ArenaPick{"p", "m", "good", "m", "bad", "a", "ann"});
    db.add(serve::ArenaPick{"p", "m", "bad", "m", "good", "b", "bob"});
    db.add(serve::ArenaPick{"p", "m", "good", "m", "bad", "b", "cat"});
    db.add(serve::ArenaPick{"p", "m", "bad", "m", "good", "b", "cat"});
    db.add(serve::ArenaPick{"q", "m", "one", "m", "two", "tie", "ann"});
    db.add(serve::ArenaPick{"q", "m", "two", "m", "one", "b", "bob"});
    db.add(serve::ArenaPick{"r", "m", "lone", "m", "pick", "a", "ann"});  // one person: not pairable
  }
  serve::StatsOptions o;
  o.bootstrap = 10;
  const auto a = serve::feedback_stats(t / "r.db", o)["agreement"].back();
  EXPECT_EQ(a["field"], "arena_pick");
  EXPECT_EQ(a["items"], 2);
  EXPECT_EQ(a["pairs"], 4) << "3 pairs of people on the first pair of stories, 1 on the second";
  EXPECT_DOUBLE_EQ(a["exact"].get<double>(), 3.0 / 4);
  // Values (+1: the pair's first story in text order won): pair 1 {-1, -1, -1} ("bad" <
  // "good"), pair 2 {0, +1} ("one" < "two", and bob picked "one").
  // D_o = (0 + 2*1/1) / 5 = 0.4; pooled -1 -1 -1 0 +1: D_e = 2*(3*1 + 3*4 + 1) / 20 = 1.6.
  EXPECT_NEAR(a["alpha"].get<double>(), 1 - 0.4 / 1.6, 1e-12);
}
