#include "slm/serve/server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>

#include "slm/model/model_files.h"
#include "slm/serve/feedback.h"
#include "slm/serve/metrics.h"
#include "slm/serve/openai_api.h"
#include "slm/serve/web_assets.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/error.h"

namespace slm::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

ModelSpec parse_model_spec(const std::string& arg) {
  namespace fs = std::filesystem;
  const size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0 && !fs::exists(arg)) return {arg.substr(0, eq), arg.substr(eq + 1)};
  fs::path p = fs::path(arg).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::string name = p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
  if (name == "model" && !p.parent_path().filename().empty()) name = p.parent_path().filename().string();
  return {name, arg};
}

namespace {

// A model being served: its weights, tokenizer, template and scheduler.
struct Served {
  std::string name, path;
  model::LoadedModel loaded;
  bool alpaca = false;  // instruction-tuned: chat prompts use Alpaca's template
  std::unique_ptr<Scheduler> scheduler;
};

int64_t unix_now() { return int64_t(std::time(nullptr)); }

}  // namespace

struct Server::Impl {
  ServeOptions opt;
  std::vector<std::unique_ptr<Served>> models;
  httplib::Server http;
  Metrics metrics;
  std::unique_ptr<FeedbackStore> feedback;
  std::atomic<uint64_t> requests{0};
  std::atomic<bool> ready{false};  // every model loaded: until then /v1/ and /api/ answer 503
  std::atomic<bool> stopping{false};
  std::atomic<bool> listen_done{false};
  int64_t started = unix_now();
  int port = 0;

  const Served& find_model(const std::string& name) const {
    if (name.empty()) return *models.front();  // one model, or the first: a client need not name it
    for (const auto& m : models)
      if (m->name == name) return *m;
    throw ApiError(404, "The model '" + name + "' does not exist", "model", "model_not_found");
  }

  json model_object(const Served& m) const {
    return {{"id", m.name}, {"object", "model"}, {"created", started}, {"owned_by", "slm"}};
  }

  void reply_error(httplib::Response& res, const ApiError& e) const {
    res.status = e.status;
    res.set_content(dump(error_body(e)), "application/json");
  }

  // The prompt's tokens: a chat through the model's template (the oldest turns dropped
  // while it leaves no room for the reply), or a completion's prompt as it is.
  std::vector<uint32_t> prompt_tokens(const Served& m, const CompletionRequest& r, std::vector<std::string>& stops) const {
    const auto& tok = *m.loaded.tok;
    const int ctx = m.scheduler->context();
    std::string prompt = r.prompt;
    if (r.chat && m.alpaca) {
      ChatTurns t = chat_turns(r.messages);
      stops.push_back(tokenizer::kChatStop);
      const size_t room = size_t(std::max(1, ctx - std::min(r.max_tokens.value_or(0), ctx / 2)));
      prompt = tokenizer::chat_prompt(t.history, t.message);
      while (!t.history.empty() && tok.encode(prompt).size() >= room) {
        t.history.erase(t.history.begin());
        prompt = tokenizer::chat_prompt(t.history, t.message);
      }
    } else if (r.chat) {
      prompt = plain_chat_prompt(r.messages);
    }
    // An empty prompt starts a new document, as training data does after <|endoftext|>.
    std::vector<uint32_t> ids = prompt.empty() ? std::vector<uint32_t>{tok.eot()} : tok.encode(prompt);
    if (int(ids.size()) >= ctx)
      throw ApiError(413,
                     fmt::format("This model's maximum context length is {} tokens; the prompt has {} tokens", ctx,
                                 ids.size()),
                     r.chat ? "messages" : "prompt", "context_length_exceeded");
    return ids;
  }

  void completions(const httplib::Request& req, httplib::Response& res, bool chat) {
    CompletionRequest r = parse_completion_request(req.body, chat);
    const Served& m = find_model(r.model);
    std::vector<std::string> stops = r.stop;
    const std::vector<uint32_t> ids = prompt_tokens(m, r, stops);
    const uint64_t number = requests++;
    Job job;
    job.prompt = ids;
    job.logprobs = r.logprobs;
    job.max_tokens = r.max_tokens.value_or(chat ? m.scheduler->context() : 16);
    job.sampling.temperature = r.temperature;
    job.sampling.top_p = r.top_p;
    job.stop = stops;
    const uint64_t seed = r.seed.value_or(opt.seed + number * 1000);
    std::vector<Scheduler::Submitted> jobs;
    std::vector<std::shared_ptr<Channel>> channels;
    for (int i = 0; i < r.n; ++i) {
      job.seed = seed + uint64_t(i);
      channels.push_back(std::make_shared<Channel>());
      jobs.push_back({job, channels.back()});
    }
    if (!m.scheduler->submit(std::move(jobs)))
      throw ApiError(429, "The server's queue is full; try again shortly", "", "queue_full", "rate_limit_exceeded");
    const std::string id = fmt::format("{}-{}-{}", chat ? "chatcmpl" : "cmpl", started, number);
    const std::string endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
    if (r.stream)
      stream(res, r, m.name, id, channels, endpoint);
    else
      respond_when_done(res, r, m.name, id, channels, endpoint);
  }

  // The whole response once every choice is done. Until then a space is written every
  // half second (JSON allows whitespace before a value): a client that left makes the
  // write fail, and its sequences are cancelled instead of decoded for no one.
  void respond_when_done(httplib::Response& res, const CompletionRequest& r, const std::string& model,
                         const std::string& id, std::vector<std::shared_ptr<Channel>> channels,
                         const std::string& endpoint) {
    struct State {
      std::vector<std::shared_ptr<Channel>> channels;
      std::vector<Choice> out;
      std::vector<bool> done;
      Clock::time_point last_write = Clock::now();
    };
    auto st = std::make_shared<State>();
    st->out.resize(channels.size());
    st->done.assign(channels.size(), false);
    st->channels = std::move(channels);
    res.set_chunked_content_provider(
        "application/json",
        [st, r, model, id](size_t, httplib::DataSink& sink) {
          bool all_done = true;
          // Collect until a keep-alive is due: a choice that keeps producing must not keep
          // this loop from writing one, or a client that left is never noticed.
          const auto every = std::chrono::milliseconds(500);
          for (size_t i = 0; i < st->channels.size(); ++i) {
            Progress p;
            while (!st->done[i] && Clock::now() - st->last_write <= every &&
                   st->channels[i]->take(p, std::chrono::milliseconds(50))) {
              Choice& c = st->out[i];
              c.text += p.text;
              for (auto& l : p.logprobs) c.logprobs.push_back(std::move(l));
              if (p.done) st->done[i] = true, c.finish = p.finish, c.prompt_tokens = p.prompt_tokens,
                          c.completion_tokens = p.completion_tokens;
            }
            all_done = all_done && st->done[i];
          }
          if (all_done) {
            const std::string body = dump(completion_response(r, id, model, unix_now(), st->out));
            if (!sink.write(body.data(), body.size())) return false;
            sink.done();
            return true;
          }
          return keep_alive(sink, st->last_write, every, " ");
        },
        on_end(st->channels, endpoint));
  }

  // Writes `ping` when nothing was written for `every`; false when the write fails (the
  // client left).
  static bool keep_alive(httplib::DataSink& sink, Clock::time_point& last, std::chrono::milliseconds every,
                         const std::string& ping) {
    if (Clock::now() - last <= every) return true;
    last = Clock::now();
    return sink.write(ping.data(), ping.size());
  }

  // When a response ends: a client that left cancels the request's sequences, and the
  // request is counted and timed (499 for a client that left).
  httplib::ContentProviderResourceReleaser on_end(std::vector<std::shared_ptr<Channel>> channels,
                                                  const std::string& endpoint) {
    return [this, channels, endpoint, t0 = Clock::now()](bool success) {
      if (!success)
        for (auto& c : channels) c->cancel();
      metrics.request(endpoint, success ? 200 : 499, std::chrono::duration<double>(Clock::now() - t0).count());
    };
  }

  // Server-sent events as OpenAI sends them: a chunk per piece of text, a last chunk per
  // choice with its finish reason, usage if asked, then "data: [DONE]". A write that
  // fails means the client left: its sequences are cancelled.
  void stream(httplib::Response& res, const CompletionRequest& r, const std::string& model, const std::string& id,
              std::vector<std::shared_ptr<Channel>> channels, const std::string& endpoint) {
    struct State {
      std::vector<std::shared_ptr<Channel>> channels;
      std::vector<bool> done, started;
      std::vector<std::string> text;  // each choice's text so far (logprobs' offsets point into it)
      int prompt = 0, completion = 0;
      Clock::time_point last_write = Clock::now();
    };
    auto st = std::make_shared<State>();
    st->channels = std::move(channels);
    st->done.assign(st->channels.size(), false);
    st->started.assign(st->channels.size(), false);
    st->text.resize(st->channels.size());
    const int64_t created = unix_now();
    const size_t prompt_chars = utf8_length(r.prompt);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [st, r, model, id, created, prompt_chars](size_t, httplib::DataSink& sink) {
          auto send = [&](const json& j) {
            const std::string event = "data: " + dump(j) + "\n\n";
            return sink.write(event.data(), event.size());
          };
          const auto wait = std::chrono::milliseconds(st->channels.size() == 1 ? 250 : 10);
          bool all_done = true;
          for (size_t i = 0; i < st->channels.size(); ++i) {
            if (st->done[i]) continue;
            Progress p;
            if (st->channels[i]->take(p, wait)) {
              if (!p.text.empty() || !st->started[i]) {
                st->text[i] += p.text;
                const json lp = r.logprobs >= 0 ? logprobs_json(p.logprobs, st->text[i], prompt_chars) : json();
                if (!send(stream_chunk(r, id, model, created, int(i), p.text, "", !st->started[i], lp))) return false;
                st->started[i] = true;
                st->last_write = Clock::now();
              }
              if (p.done) {
                if (!send(stream_chunk(r, id, model, created, int(i), "", p.finish, false))) return false;
                st->done[i] = true;
                st->prompt = p.prompt_tokens;
                st->completion += p.completion_tokens;
              }
            }
            all_done = all_done && st->done[i];
          }
          if (all_done) {
            if (r.include_usage && !send(usage_chunk(r, id, model, created, st->prompt, st->completion))) return false;
            const char done[] = "data: [DONE]\n\n";
            if (!sink.write(done, sizeof(done) - 1)) return false;
            sink.done();
            return true;
          }
          // Waiting in the queue: an SSE comment, so a client that left is noticed.
          return keep_alive(sink, st->last_write, std::chrono::milliseconds(1000), ": waiting\n\n");
        },
        on_end(st->channels, endpoint));
  }

  std::string gauges() const {
    std::string out =
        "# TYPE slm_queue_length gauge\n# TYPE slm_active_sequences gauge\n# TYPE slm_slots gauge\n"
        "# TYPE slm_prompt_tokens_total counter\n# TYPE slm_completion_tokens_total counter\n"
        "# TYPE slm_decode_steps_total counter\n# TYPE slm_decode_seconds_total counter\n"
        "# HELP slm_cancelled_total Jobs whose client left before they finished.\n# TYPE slm_cancelled_total counter\n"
        "# HELP slm_tokens_per_second Tokens decoded per second over the last second of decoding.\n"
        "# TYPE slm_tokens_per_second gauge\n";
    if (!ready) return out;
    for (const auto& m : models) {
      const auto s = m->scheduler->stats();
      const std::string l = fmt::format("{{model=\"{}\"}}", m->name);
      out += fmt::format("slm_queue_length{} {}\nslm_active_sequences{} {}\nslm_slots{} {}\n", l, s.queued, l,
                         s.active, l, s.slots);
      out += fmt::format("slm_prompt_tokens_total{} {}\nslm_completion_tokens_total{} {}\n", l, s.prompt_tokens, l,
                         s.tokens);
      out += fmt::format("slm_decode_steps_total{} {}\nslm_decode_seconds_total{} {}\nslm_tokens_per_second{} {}\n",
                         l, s.steps, l, s.decode_seconds, l, s.tokens_per_second);
      out += fmt::format("slm_cancelled_total{} {}\n", l, s.cancelled);
    }
    return out;
  }

  // Runs a handler: ApiError becomes its JSON answer; each request is counted and timed.
  template <class F>
  httplib::Server::Handler handle(const std::string& endpoint, F f) {
    return [this, endpoint, f](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = Clock::now();
      try {
        f(req, res);
      } catch (const ApiError& e) {
        reply_error(res, e);
      } catch (const std::exception& e) {
        reply_error(res, ApiError(500, e.what(), "", "internal_error", "server_error"));
      }
      if (res.is_chunked_content_provider_) return;  // timed when the response ends
      metrics.request(endpoint, res.status < 0 ? 200 : res.status,
                      std::chrono::duration<double>(Clock::now() - t0).count());
    };
  }

  void routes() {
    http.Get("/health", handle("/health", [this](const auto&, auto& res) {
      json j = {{"status", "ok"}, {"models", json::array()}};
      for (const auto& m : models) j["models"].push_back(m->name);
      res.set_content(j.dump(), "application/json");
    }));
    http.Get("/metrics", handle("/metrics", [this](const auto&, auto& res) {
      res.set_content(metrics.prometheus(gauges()), "text/plain; version=0.0.4");
    }));
    // The story playground (serve/web/), compiled in.
    http.Get(R"(/([a-z_\-]*\.?[a-z]*))", handle("/", [](const auto& req, auto& res) {
      const std::string path = req.matches[1].str().empty() ? "index.html" : req.matches[1].str();
      for (const auto& a : web_assets())
        if (a.path == path) {
          const std::string ext = path.substr(path.rfind('.') + 1);
          const char* type = ext == "html" ? "text/html; charset=utf-8"
                             : ext == "js" ? "text/javascript; charset=utf-8"
                                           : "text/css; charset=utf-8";
          return res.set_content(std::string(a.content), type);
        }
      throw ApiError(404, "No page /" + path, "", "unknown_url");
    }));
    http.Get("/v1/models", handle("/v1/models", [this](const auto&, auto& res) {
      json j = {{"object", "list"}, {"data", json::array()}};
      for (const auto& m : models) j["data"].push_back(model_object(*m));
      res.set_content(j.dump(), "application/json");
    }));
    http.Get(R"(/v1/models/(.+))", handle("/v1/models/{id}", [this](const auto& req, auto& res) {
      res.set_content(model_object(find_model(req.matches[1])).dump(), "application/json");
    }));
    if (feedback)
      http.Post("/api/ratings", handle("/api/ratings", [this](const auto& req, auto& res) {
        const int64_t id = feedback->add(parse_rating(req.body));
        res.set_content(json{{"id", id}}.dump(), "application/json");
      }));
    if (feedback)
      http.Post("/api/arena", handle("/api/arena", [this](const auto& req, auto& res) {
        const int64_t id = feedback->add(parse_arena_pick(req.body));
        res.set_content(json{{"id", id}}.dump(), "application/json");
      }));
    http.Post("/v1/completions",
              handle("/v1/completions", [this](const auto& req, auto& res) { completions(req, res, false); }));
    http.Post("/v1/chat/completions",
              handle("/v1/chat/completions", [this](const auto& req, auto& res) { completions(req, res, true); }));
  }

  // The API key, when one is set, guards /v1/ and /api/ (health and metrics stay open to monitors).
  // While the models load, /health, /v1/ and /api/ answer 503 (the page and /metrics work).
  void guard() {
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const bool api = req.path.rfind("/v1/", 0) == 0 || req.path.rfind("/api/", 0) == 0;
      if (!ready && (api || req.path == "/health")) {
        reply_error(res, ApiError(503, "The models are still loading; try again shortly", "", "model_loading",
                                  "unavailable_error"));
        if (req.path == "/health") res.set_content(json{{"status", "loading"}}.dump(), "application/json");
        res.set_header("Retry-After", "1");
        metrics.request(req.path, 503, 0);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (opt.api_key.empty() || !api) return httplib::Server::HandlerResponse::Unhandled;
      if (req.get_header_value("Authorization") == "Bearer " + opt.api_key)
        return httplib::Server::HandlerResponse::Unhandled;
      reply_error(res, ApiError(401, "Incorrect API key provided", "", "invalid_api_key"));
      metrics.request(req.path, 401, 0);
      return httplib::Server::HandlerResponse::Handled;
    });
    // Errors httplib answers itself (no route, a body too large) get OpenAI's shape too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      const std::string what = res.status == 404   ? "No route " + req.method + " " + req.path
                               : res.status == 413 ? "The request body is too large"
                                                   : "The request could not be served (HTTP " + std::to_string(res.status) + ")";
      reply_error(res, ApiError(res.status, what, "", res.status == 404 ? "unknown_url" : ""));
    });
  }
};

Server::Server(const std::vector<ModelSpec>& specs, const ServeOptions& opt) : impl_(std::make_unique<Impl>()) {
  if (specs.empty()) throw Error("no model to serve", "--model");
  impl_->opt = opt;
  for (const auto& spec : specs) {
    for (const auto& m : impl_->models)
      if (m->name == spec.name) throw Error("two models are named '" + spec.name + "'", "--model " + spec.path);
    auto s = std::make_unique<Served>();
    s->name = spec.name;
    s->path = spec.path;
    impl_->models.push_back(std::move(s));
  }
  if (!opt.feedback_db.empty()) impl_->feedback = std::make_unique<FeedbackStore>(opt.feedback_db);
  const size_t threads = opt.http_threads > 0
                             ? size_t(opt.http_threads)
                             : std::max<size_t>(64, size_t(opt.scheduler.slots) * specs.size() + opt.scheduler.queue + 16);
  impl_->http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  impl_->http.set_payload_max_length(4 << 20);
  impl_->routes();
  impl_->guard();
  if (opt.port == 0)
    impl_->port = impl_->http.bind_to_any_port(opt.host);
  else
    impl_->port = impl_->http.bind_to_port(opt.host, opt.port) ? opt.port : -1;
  if (impl_->port < 0) throw Error("cannot listen on " + opt.host + ":" + std::to_string(opt.port), "--port");
}

Server::~Server() = default;

int Server::port() const { return impl_->port; }

void Server::run(const std::function<void()>& on_ready) {
  Impl& im = *impl_;
  std::thread listener([&im] {
    im.http.listen_after_bind();
    im.listen_done = true;
  });
  try {
    if (impl_->opt.before_load) impl_->opt.before_load();
    for (auto& s : impl_->models) {
      if (impl_->stopping) break;
      s->loaded = model::load_model_and_tokenizer(s->path);
      s->alpaca = s->loaded.alpaca_template;
      s->scheduler = std::make_unique<Scheduler>(*s->loaded.model, *s->loaded.tok, impl_->opt.scheduler);
      if (!s->alpaca)
        fmt::print(stderr, "slm: note: {} has no chat template; chat requests get the messages' text as the prompt\n",
                   s->path);
    }
  } catch (...) {
    stop();
    listener.join();
    throw;
  }
  if (!impl_->stopping) {
    impl_->ready = true;
    if (on_ready) on_ready();
  }
  listener.join();
}

void Server::stop() {
  impl_->stopping = true;
  // stop() before the listener has started listening would be lost: wait until it is up.
  while (!impl_->http.is_running() && !impl_->listen_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}

}  // namespace slm::serve
