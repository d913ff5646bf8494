// slm serve's HTTP server in-process on 127.0.0.1, with a real HTTP client: 503 while the
// models load, logprobs of completions, and a non-streaming request whose client leaves.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <future>
#include <regex>
#include <thread>

#include "tiny_model.h"
#include "slm/model/model_files.h"
#include "slm/serve/server.h"
#include "test_util.h"

using namespace slm;
using nlohmann::json;

namespace {

// A model folder on disk (config.json, model.safetensors, tokenizer.json).
std::string save_tiny(const test::TempDir& dir, const test::TinyModel& t) {
  const std::string path = dir / "model";
  std::filesystem::create_directories(path);
  model::save_model_files(path, *t.m);
  t.tok->save(path + "/tokenizer.json");
  return path;
}

// Runs a server on a free port in a thread; stops it at the end.
struct Running {
  serve::Server server;
  std::promise<void> ready;
  std::thread thread;
  Running(const std::string& model, serve::ServeOptions opt) : server({{"tiny", model}}, with_port0(opt)) {
    thread = std::thread([this] { server.run([this] { ready.set_value(); }); });
  }
  ~Running() {
    server.stop();
    thread.join();
  }
  void wait_ready() { ready.get_future().wait(); }
  httplib::Client client() const { return httplib::Client("127.0.0.1", server.port()); }
  static serve::ServeOptions with_port0(serve::ServeOptions o) {
    o.port = 0;
    return o;
  }
};

uint64_t metric(httplib::Client& cli, const std::string& name) {
  auto res = cli.Get("/metrics");
  std::smatch m;
  const std::string body = res ? res->body : "";
  if (!std::regex_search(body, m, std::regex(name + R"(\{model="tiny"\} (\d+))"))) return 0;
  return std::stoull(m[1]);
}

}  // namespace

TEST(Server, Answers503WhileTheModelsLoadThenServes) {
  test::TempDir dir;
  test::TinyModel t;
  const std::string path = save_tiny(dir, t);
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> go = release->get_future().share();
  serve::ServeOptions opt;
  opt.before_load = [go] { go.wait(); };  // the models load only once the test has seen the 503s
  Running r(path, opt);
  struct Release {  // destroyed before r: a failed assertion still lets the server finish loading and stop
    std::shared_ptr<std::promise<void>> p;
    bool done = false;
    void now() { if (!done) p->set_value(), done = true; }
    ~Release() { now(); }
  } unblock{release};
  auto cli = r.client();
  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json::parse(health->body)["status"], "loading");
  auto busy = cli.Post("/v1/completions", R"({"prompt": "Once"})", "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(json::parse(busy->body)["error"]["code"], "model_loading");
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  auto page = cli.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200) << "the page loads at once and waits for the models itself";
  unblock.now();
  r.wait_ready();
  health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto done = cli.Post("/v1/completions", R"({"prompt": "Once", "max_tokens": 3, "temperature": 0})", "application/json");
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200) << done->body;
}

TEST(Server, AModelThatFailsToLoadEndsRunWithItsName) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "empty");
  serve::ServeOptions opt;
  opt.port = 0;
  serve::Server server({{"broken", dir / "empty"}}, opt);
  try {
    server.run();
    ADD_FAILURE() << "run() returned for a model folder without a model";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
  }
}

// OpenAI's legacy logprobs: tokens that spell the text, each token's log-probability, the
// k likeliest at each position (greedy: the chosen one is the likeliest), and offsets in
// characters from the start of the prompt.
TEST(Server, CompletionLogprobsSpellTheTextAndFollowOpenAIsFormat) {
  test::TempDir dir;
  test::TinyModel t(96, /*untied=*/true);  // writes ASCII: a token's characters are its bytes
  Running r(save_tiny(dir, t), {});
  r.wait_ready();
  auto cli = r.client();
  const std::string prompt = "Once upon a time";
  for (bool stream : {false, true}) {
    json req = {{"prompt", prompt}, {"max_tokens", 12}, {"temperature", 0}, {"logprobs", 2}, {"stream", stream}};
    auto res = cli.Post("/v1/completions", req.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    std::string text;
    json lp = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
               {"text_offset", json::array()}};
    auto add = [&](const json& choice) {
      text += choice["text"].get<std::string>();
      if (choice["logprobs"].is_null()) return;
      for (const char* k : {"tokens", "token_logprobs", "top_logprobs", "text_offset"})
        for (const auto& v : choice["logprobs"][k]) lp[k].push_back(v);
    };
    if (!stream) {
      add(json::parse(res->body)["choices"][0]);
    } else {
      std::istringstream in(res->body);
      for (std::string line; std::getline(in, line);)
        if (line.rfind("data: {", 0) == 0) add(json::parse(line.substr(6))["choices"][0]);
    }
    ASSERT_FALSE(text.empty());
    std::string spelled;
    for (const auto& tk : lp["tokens"]) spelled += tk.get<std::string>();
    EXPECT_EQ(spelled, text) << "stream " << stream;
    size_t offset = prompt.size();  // ASCII: characters are bytes
    for (size_t i = 0; i < lp["tokens"].size(); ++i) {
      EXPECT_EQ(lp["text_offset"][i].get<size_t>(), offset);
      offset += lp["tokens"][i].get<std::string>().size();
      const double chosen = lp["token_logprobs"][i];
      EXPECT_LE(chosen, 0.0);
      const json& top = lp["top_logprobs"][i];
      ASSERT_GE(top.size(), 1u);
      ASSERT_LE(top.size(), 2u);
      double best = -1e9;
      for (const auto& [tok, v] : top.items()) best = std::max(best, v.get<double>());
      EXPECT_NEAR(best, chosen, 1e-5) << "greedy picks the likeliest token";
      ASSERT_TRUE(top.contains(lp["tokens"][i].get<std::string>()));
      EXPECT_EQ(top[lp["tokens"][i].get<std::string>()], chosen);
    }
  }
  // Out of range, and chat's form, are 400s that name the field.
  auto bad = cli.Post("/v1/completions", R"({"prompt": "x", "logprobs": 9})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(json::parse(bad->body)["error"]["param"], "logprobs");
}

// A client that stops waiting for a non-streaming answer: the server notices at its next
// keep-alive space and cancels the request's sequences instead of decoding them for no one.
TEST(Server, ANonStreamingRequestIsCancelledWhenItsClientLeaves) {
  test::TempDir dir;
  // Every sequence runs to max_tokens: 16 × 16,000 tokens, seconds of work even for a fast
  // engine (at 16 × 4,000 a faster decoder once finished before the server noticed).
  test::TinyModel t(/*context=*/16384, /*untied=*/true);
  serve::ServeOptions opt;
  opt.scheduler.slots = 1;  // the request's 16 choices decode one after another
  Running r(save_tiny(dir, t), opt);
  r.wait_ready();
  auto impatient = r.client();
  impatient.set_read_timeout(0, 300000);  // gives up after 0.3 s and closes the connection
  auto res = impatient.Post("/v1/completions", R"({"prompt": "Once", "max_tokens": 16000, "n": 16, "temperature": 0})",
                            "application/json");
  EXPECT_FALSE(res) << "the answer came in 0.3 s; the test needs a longer request";
  auto cli = r.client();
  for (int i = 0; i < 200; ++i) {  // until the scheduler has nothing left of the request
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (metric(cli, "slm_cancelled_total") > 0 && metric(cli, "slm_active_sequences") == 0 &&
        metric(cli, "slm_queue_length") == 0)
      break;
  }
  const uint64_t cancelled = metric(cli, "slm_cancelled_total");
  EXPECT_GE(cancelled, 1u) << "the request's choices are cancelled";
  EXPECT_LE(metric(cli, "slm_completion_tokens_total"), (16 - cancelled) * 16000 + 16000) << "cancelled ones stop";
  EXPECT_LT(metric(cli, "slm_completion_tokens_total"), 15u * 16000) << "most of the work was never done";
  auto after = cli.Post("/v1/completions", R"({"prompt": "Once", "max_tokens": 3})", "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << "the server goes on serving";
}
