// slm serve: the OpenAI-compatible server (src/slm/serve/).
#include <fmt/format.h>

#include <csignal>
#include <cstdlib>
#include <memory>
#include <pthread.h>
#include <thread>

#include "cli/common.h"
#include "slm/serve/feedback.h"
#include "slm/serve/feedback_stats.h"
#include "slm/serve/server.h"

namespace slm::cli {

namespace {

void add_serve(CLI::App& app) {
  struct Args {
    Common common;
    std::vector<std::string> models;
    serve::ServeOptions opt;
    bool q8 = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("serve", "Serve models over OpenAI's API (completions, chat, streaming)");
  cmd->add_option("--model", a->models, "a model folder or .gguf file, or NAME=PATH (repeatable)")->required();
  cmd->add_option("--port", a->opt.port, "TCP port (0: any free port, printed at start)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--host", a->opt.host, "address to listen on (0.0.0.0: every interface)")->capture_default_str();
  cmd->add_option("--api-key", a->opt.api_key, "require 'Authorization: Bearer KEY' on /v1/ (default: $SLM_API_KEY)");
  cmd->add_option("--parallel", a->opt.scheduler.slots, "sequences decoded together per model (KV-cache slots)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--queue", a->opt.scheduler.queue, "requests waiting for a slot before 429s")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--db", a->opt.feedback_db, "SQLite file for ratings (POST /api/ratings; see slm feedback export)");
  cmd->add_flag("--q8", a->q8, "int8 weights (faster decoding, about the same quality)");
  add_common(cmd, a->common);
  cmd->footer("Example:\n  slm serve --model runs/q/finetune/model --port 8080\n"
              "  curl http://127.0.0.1:8080/v1/completions -d '{\"prompt\": \"Once upon a time\"}'");
  cmd->callback([a] {
    if (a->opt.api_key.empty())
      if (const char* k = std::getenv("SLM_API_KEY")) a->opt.api_key = k;
    if (a->opt.host != "127.0.0.1" && a->opt.host != "localhost" && a->opt.host != "::1" && a->opt.api_key.empty())
      fmt::print(stderr, "slm: warning: listening on {} without --api-key: anyone who can reach it can use it\n",
                 a->opt.host);
    a->opt.scheduler.q8 = a->q8;
    a->opt.scheduler.threads = a->common.resolved_threads();
    a->opt.seed = a->common.seed;
    std::vector<serve::ModelSpec> specs;
    for (const auto& m : a->models) specs.push_back(serve::parse_model_spec(m));
    // Every thread started from here on leaves SIGINT/SIGTERM to the one that waits for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that leaves mid-stream is an error to handle, not a signal
    serve::Server server(specs, a->opt);
    std::string names;
    for (const auto& s : specs) names += (names.empty() ? "" : ", ") + s.name;
    fmt::print(stderr, "slm serve: listening on http://{}:{} (models: {})\n", a->opt.host, server.port(), names);
    std::thread waiter([&server, stop_signals] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      server.stop();
    });
    server.run([&] { fmt::print(stderr, "slm serve: ready (models loaded)\n"); });
    // run() also returns when listening fails; wake the waiter so it can be joined.
    pthread_kill(waiter.native_handle(), SIGTERM);
    waiter.join();
  });
}

void add_feedback_stats(CLI::App* fb) {
  struct Args {
    std::string db, judge_url, judge_model, judge_cache;
    bool json = false;
    serve::StatsOptions opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = fb->add_subcommand("stats", "What the ratings say: agreement, arena win rates, metrics and judge");
  cmd->add_option("--db", a->db, "the SQLite file slm serve --db wrote")->required()->check(CLI::ExistingFile);
  cmd->add_option("--bootstrap", a->opt.bootstrap, "resamples for the 95% intervals of Elo and Bradley-Terry")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--seed", a->opt.seed, "seed of the bootstrap")->capture_default_str()->check(in_range(0, kMaxSeed));
  cmd->add_option("--judge-url", a->judge_url, "an OpenAI-compatible API base: its model grades each rated story");
  cmd->add_option("--judge-model", a->judge_model, "the judge model's name");
  cmd->add_option("--judge-cache", a->judge_cache, "JSONL cache of the judge's replies");
  cmd->add_flag("--json", a->json, "print the figures as JSON");
  cmd->add_flag("--quiet", a->opt.quiet, "no progress bar");
  cmd->footer("Agreement: Krippendorff's alpha (interval) over stories rated by two or more people.\n"
              "Arena: win rates, Elo and Bradley-Terry (as Chatbot Arena) with bootstrap intervals.\n"
              "Metrics: Spearman between people's mean stars and slm's story metrics (and the judge's grades).\n"
              "Example:\n  slm feedback stats --db ratings.db --judge-url http://127.0.0.1:8080/v1 --judge-model big");
  cmd->callback([a] {
    a->opt.judge.url = a->judge_url;
    a->opt.judge.model = a->judge_model;
    a->opt.judge.cache_path = a->judge_cache;
    if (const char* key = std::getenv("SLM_JUDGE_API_KEY")) a->opt.judge.api_key = key;
    if (!a->judge_url.empty() && a->judge_model.empty()) throw CLI::RequiredError("--judge-model (with --judge-url)");
    const auto stats = serve::feedback_stats(a->db, a->opt);
    fmt::print("{}", a->json ? stats.dump(2) + "\n" : serve::format_stats(stats));
  });
}

void add_feedback(CLI::App& app) {
  struct Args {
    std::string db, out;
  };
  auto a = std::make_shared<Args>();
  auto* fb = app.add_subcommand("feedback", "People's ratings of stories, gathered by slm serve --db");
  fb->require_subcommand(1);
  add_feedback_stats(fb);
  auto* cmd = fb->add_subcommand("export", "Ratings as fine-tuning data: sft.jsonl and preferences.jsonl");
  cmd->add_option("--db", a->db, "the SQLite file slm serve --db wrote")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "output folder")->required();
  cmd->footer("sft.jsonl: Alpaca records (slm finetune --data) of edited stories and of stories rated well\n"
              "(a thumb up, or 4+ stars on average). preferences.jsonl: {prompt, chosen, rejected} from edits\n"
              "from rating gaps between stories of one prompt, and from arena picks.\n"
              "Example:\n  slm feedback export --db ratings.db --out runs/q/feedback");
  cmd->callback([a] {
    const auto n = serve::export_feedback(a->db, a->out);
    fmt::print(stderr, "{} ratings, {} arena picks -> {} sft records, {} preference pairs in {}\n", n.ratings, n.arena,
               n.sft, n.preferences, a->out);
  });
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  add_serve(app);
  add_feedback(app);
}

}  // namespace slm::cli
