#include <gtest/gtest.h>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "slm/serve/feedback.h"
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
                             {R"({"prompt":"p","story":"s","thumbs":"sideways"})", "thumbs"}}) {
    try {
      serve::parse_rating(body);
      ADD_FAILURE() << "accepted " << body;
    } catch (const serve::ApiError& e) {
      EXPECT_EQ(e.param, field);
    }
  }
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
