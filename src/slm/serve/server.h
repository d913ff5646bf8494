#pragma once
// slm serve: an OpenAI-compatible HTTP server over one or more models, each decoded by
// its own continuous-batching scheduler. Routes: GET /v1/models, POST /v1/completions,
// POST /v1/chat/completions (SSE when "stream": true), GET /health, GET /metrics, and with
// a feedback database POST /api/ratings (serve/feedback.h).
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
};

class Server {
 public:
  // Loads every model (throws slm::Error naming the one that fails) and binds the port
  // (throws when it is taken).
  Server(const std::vector<ModelSpec>& models, const ServeOptions& opt);
  ~Server();
  int port() const;
  // Answers requests until stop() (from another thread or a signal handler's thread).
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slm::serve
