#pragma once
// slm serve: an OpenAI-compatible HTTP server over one or more models, each decoded by
// its own continuous-batching scheduler. Routes: GET /v1/models, POST /v1/completions,
// POST /v1/chat/completions (SSE when "stream": true), GET /health, GET /metrics, and with
// a feedback database POST /api/ratings (serve/feedback.h).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "slm/serve/scheduler.h"

namespace slm::serve {

struct ModelSpec {
  std::string name, path;  // path: a model folder or a .gguf file
};

// "NAME=PATH" or a bare PATH (named by its file or folder name; a folder called "model"
// by its parent's name, as runs lay them out: runs/q/finetune/model -> "finetune").
ModelSpec parse_model_spec(const std::string& arg);

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;        // 0: any free port (see Server::port)
  std::string api_key;    // "": no key needed
  SchedulerOptions scheduler;
  uint64_t seed = 1;      // requests without a seed draw from seed + their number
  int http_threads = 0;   // 0: enough for every slot and queue place
  std::string feedback_db;  // SQLite file for POST /api/ratings ("": no ratings route)
  std::function<void()> before_load;  // called once listening, before the models load (tests hold it)
};

class Server {
 public:
  // Binds the port (throws when it is taken); checks the model names, loads nothing yet.
  Server(const std::vector<ModelSpec>& models, const ServeOptions& opt);
  ~Server();
  int port() const;
  // Listens at once, answering 503 to /health, /v1/ and /api/ while the models load, then
  // calls on_ready and answers requests until stop() (from another thread or a signal
  // handler's thread). Throws slm::Error naming a model that fails to load.
  void run(const std::function<void()>& on_ready = {});
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slm::serve
