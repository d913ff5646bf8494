// The judge client against a real HTTP server on 127.0.0.1 (cpp-httplib), speaking the
// OpenAI chat-completions format: good replies, overload (429, 503), malformed replies,
// replies of another format, the cache, and a judge that is not there.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "slm/eval/judge.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::eval;
using nlohmann::json;

namespace {

std::string completion(const std::string& content) {
  return json{{"id", "x"}, {"object", "chat.completion"},
              {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}}}}
      .dump();
}

const char* kGood = "The completion is fine.\nGrammar: 8/10\nCreativity: 6/10\nConsistency: 7/10\nPlot: 5/10\nAge group: B";

// A judge server whose behaviour each test sets.
struct FakeJudge {
  httplib::Server srv;
  int port = 0;
  std::thread th;
  std::atomic<int> requests{0};
  std::function<void(const httplib::Request&, httplib::Response&, int n)> behaviour;
  std::string last_auth;
  FakeJudge() {
    srv.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      int n = ++requests;
      last_auth = req.get_header_value("Authorization");
      auto body = json::parse(req.body);
      EXPECT_EQ(body["model"], "judge-1");
      EXPECT_NE(body["messages"][0]["content"].get<std::string>().find("***"), std::string::npos);
      behaviour(req, res, n);
    });
    port = srv.bind_to_any_port("127.0.0.1");
    th = std::thread([this] { srv.listen_after_bind(); });
    while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeJudge() {
    srv.stop();
    th.join();
  }
  JudgeOptions options() const {
    JudgeOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
    o.model = "judge-1";
    o.backoff_s = 0.01;
    o.concurrency = 2;
    return o;
  }
};

std::vector<std::pair<std::string, std::string>> stories(int n) {
  std::vector<std::pair<std::string, std::string>> s;
  for (int i = 0; i < n; ++i) s.push_back({"Once upon a time, " + std::to_string(i), " there was a cat."});
  return s;
}

}  // namespace

TEST(Judge, ParsesTheGradesAndRefusesToGuess) {
  auto j = parse_judgment(kGood);
  ASSERT_TRUE(j);
  EXPECT_EQ(j->grammar, 8);
  EXPECT_EQ(j->plot, 5);
  EXPECT_EQ(j->age_group, "B");
  EXPECT_FALSE(parse_judgment("Grammar: 8/10\nCreativity: 6/10\nConsistency: 7/10\nAge group: B")) << "no plot";
  EXPECT_FALSE(parse_judgment("Grammar: 18/10\nCreativity: 6/10\nConsistency: 7/10\nPlot: 5/10\nAge group: B"));
  EXPECT_FALSE(parse_judgment("I cannot grade this."));
  EXPECT_NE(judge_prompt("Once", " upon").find("Once*** upon"), std::string::npos);
}

TEST(Judge, GradesEveryStoryAndSendsTheKey) {
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int) { res.set_content(completion(kGood), "application/json"); };
  auto o = fj.options();
  o.api_key = "sk-test";
  auto out = judge_stories(stories(5), o, true);
  ASSERT_EQ(out.size(), 5u);
  for (const auto& j : out) EXPECT_TRUE(j.ok && j.grammar == 8 && j.age_group == "B");
  EXPECT_EQ(fj.requests, 5);
  EXPECT_EQ(fj.last_auth, "Bearer sk-test");
}

TEST(Judge, RetriesOverloadWithBackoff) {
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int n) {
    if (n % 3 != 0) {
      res.status = n % 2 ? 429 : 503;
      return;
    }
    res.set_content(completion(kGood), "application/json");
  };
  auto o = fj.options();
  o.concurrency = 1;
  o.attempts = 4;
  auto out = judge_stories(stories(2), o, true);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(out[0].attempts, 3);
  EXPECT_TRUE(out[1].ok);
}

TEST(Judge, MalformedRepliesAreRetriedThenRecordedAsFailed) {
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int) {
    res.set_content(completion("What a lovely story! I would give it a good grade."), "application/json");
  };
  auto o = fj.options();
  o.attempts = 3;
  auto out = judge_stories(stories(1), o, true);
  EXPECT_FALSE(out[0].ok);
  EXPECT_EQ(out[0].attempts, 3);
  EXPECT_EQ(out[0].grammar, 0) << "no made-up score";
  EXPECT_NE(out[0].error.find("format"), std::string::npos);
  EXPECT_EQ(fj.requests, 3);
}

TEST(Judge, AReplyInAnotherFormatIsAFailureNotACrash) {
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int) { res.set_content(R"({"text": "8/10"})", "application/json"); };
  auto out = judge_stories(stories(1), fj.options(), true);
  EXPECT_FALSE(out[0].ok);
  EXPECT_NE(out[0].error.find("chat completion"), std::string::npos) << out[0].error;
}

TEST(Judge, TheCacheAnswersARerun) {
  test::TempDir dir;
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int) { res.set_content(completion(kGood), "application/json"); };
  auto o = fj.options();
  o.cache_path = dir / "cache.jsonl";
  judge_stories(stories(3), o, true);
  EXPECT_EQ(fj.requests, 3);
  auto again = judge_stories(stories(4), o, true);
  EXPECT_EQ(fj.requests, 4) << "only the new story is asked";
  EXPECT_TRUE(again[0].cached);
  EXPECT_FALSE(again[3].cached);
}

TEST(Judge, AnUnreachableJudgeIsRecordedNotFatal) {
  JudgeOptions o;
  {
    FakeJudge fj;  // take a free port, then close it
    o = fj.options();
  }
  o.attempts = 2;
  auto out = judge_stories(stories(2), o, true);
  for (const auto& j : out) {
    EXPECT_FALSE(j.ok);
    EXPECT_NE(j.error.find("no answer"), std::string::npos) << j.error;
  }
  o.url = "ftp://x";
  EXPECT_THROW(judge_stories(stories(1), o, true), std::exception);
}

TEST(Judge, ACacheCutShortByACrashLosesOnlyItsLastLine) {
  test::TempDir dir;
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int) { res.set_content(completion(kGood), "application/json"); };
  auto o = fj.options();
  o.cache_path = dir / "cache.jsonl";
  judge_stories(stories(3), o, true);
  std::string text = test::slurp(o.cache_path);
  test::spit(o.cache_path, text.substr(0, text.size() - 10));  // the third line torn mid-write
  judge_stories(stories(3), o, true);
  EXPECT_EQ(fj.requests, 4) << "only the torn story is asked again";
  EXPECT_EQ(judge_stories(stories(3), o, true)[2].cached, true) << "its new line was appended on a line of its own";
}

TEST(Judge, ABadCacheLineIsAnErrorNamingIt) {
  test::TempDir dir;
  JudgeOptions o;
  o.url = "http://127.0.0.1:9/v1";
  o.model = "m";
  o.cache_path = dir / "cache.jsonl";
  test::spit(o.cache_path, "{\"key\": \"a\", \"reply\": \"r\"}\n{\"key\": \"b\"}\n");
  try {
    judge_stories(stories(1), o, true);
    FAIL() << "a cache line without its reply was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "field 'reply' must be a string (" + o.cache_path + ":2)");
  }
}

TEST(Judge, AStoryWithInvalidUtf8IsSentNotACrash) {
  FakeJudge fj;
  fj.behaviour = [](const httplib::Request&, httplib::Response& res, int) { res.set_content(completion(kGood), "application/json"); };
  // An undertrained model's bytes need not be UTF-8: a token can end inside a character.
  auto out = judge_stories({{"Once upon a time", " a cat \xe2\x82 sat \xff"}}, fj.options(), true);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].ok);
  EXPECT_EQ(fj.requests, 1);
}
