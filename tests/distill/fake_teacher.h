#pragma once
// A teacher endpoint for the tests: a real HTTP server on 127.0.0.1 (cpp-httplib) that
// speaks OpenAI's chat-completions format and answers what each test says.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/eval/chat_client.h"

namespace slm::test {

struct FakeTeacher {
  httplib::Server srv;
  int port = 0;
  std::thread th;
  std::atomic<int> requests{0};
  std::mutex mu;
  std::vector<nlohmann::json> bodies;  // every request's body
  // The reply's content for a prompt; throwing int N answers HTTP N.
  std::function<std::string(const std::string& prompt, int n)> answer;
  FakeTeacher() {
    srv.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = ++requests;
      auto body = nlohmann::json::parse(req.body);
      {
        std::lock_guard<std::mutex> g(mu);
        bodies.push_back(body);
      }
      try {
        const std::string content = answer(body["messages"][0]["content"].get<std::string>(), n);
        res.set_content(nlohmann::json{{"id", "x"},
                                       {"object", "chat.completion"},
                                       {"choices", {{{"index", 0},
                                                     {"message", {{"role", "assistant"}, {"content", content}}},
                                                     {"finish_reason", "stop"}}}}}
                            .dump(),
                        "application/json");
      } catch (int status) {
        res.status = status;
        res.set_content("{\"error\":{\"message\":\"no\"}}", "application/json");
      }
    });
    port = srv.bind_to_any_port("127.0.0.1");
    th = std::thread([this] { srv.listen_after_bind(); });
    while (!srv.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeTeacher() {
    srv.stop();
    th.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
  // How a client reaches it: model "big", quick retries.
  eval::ChatClientOptions endpoint(int attempts = 4) const {
    eval::ChatClientOptions e;
    e.url = url();
    e.model = "big";
    e.backoff_s = 0.01;
    e.attempts = attempts;
    return e;
  }
};

}  // namespace slm::test
