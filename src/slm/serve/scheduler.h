#pragma once
// Continuous batching: one thread per model owns an inference engine with S sequence
// slots. Requests wait in a bounded queue. Each step, waiting jobs take the free slots, and
// one engine call runs the new prompts whole beside one row for every live sequence, so
// the weights are read once for all of them; every sequence then draws its next token. A
// sequence leaves its slot when it finishes or its client goes away.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "slm/infer/engine.h"
#include "slm/infer/sampler.h"
#include "slm/model/transformer.h"
#include "slm/serve/text_stream.h"
#include "slm/tokenizer/bpe.h"

namespace slm::serve {

// One sequence to decode (a request for n choices is n jobs).
struct Job {
  std::vector<uint32_t> prompt;  // must fit the context (checked by submit)
  int max_tokens = 16;           // stops earlier at the end of the context
  infer::SamplingOptions sampling;
  uint64_t seed = 1;
  std::vector<std::string> stop;
  bool stop_at_eot = true;
  int logprobs = -1;  // -1: none; k >= 0: each token's log-probability and the k likeliest
};

// A generated token's log-probability under the model (log-softmax of its logits, before
// temperature and top-p), and the k likeliest alternatives at its position.
struct TokenLogprob {
  std::string token;      // the token's bytes (may be part of a UTF-8 character)
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
  size_t offset = 0;      // where the token starts in the completion's text, in bytes
};

// What a job has produced so far, taken by the thread that answers the client.
struct Progress {
  std::string text;      // new final text since the last take
  std::vector<TokenLogprob> logprobs;  // the tokens of that text, when the job asked
  bool done = false;
  // When done: "stop" (end of text or a stop string), "length", "cancelled" (the client
  // left) or "error" (decoding failed; the server logs why).
  std::string finish;
  int prompt_tokens = 0, completion_tokens = 0;
};

// Between the scheduler (writes) and the client's thread (reads, or cancels).
class Channel {
 public:
  void append(const std::string& text, std::vector<TokenLogprob> logprobs = {});
  void close(const std::string& finish, int prompt_tokens, int completion_tokens);
  // Waits up to timeout for new text or the end; false when nothing came.
  bool take(Progress& out, std::chrono::milliseconds timeout);
  // The client is gone: the scheduler frees the sequence's slot at its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Progress p_;
  bool changed_ = false;
  std::atomic<bool> cancelled_{false};
};

struct SchedulerOptions {
  int slots = 8;         // sequences decoded together
  size_t queue = 64;     // jobs waiting for a slot; more are refused
  int threads = 0;       // OpenMP threads of the engine (0: the default)
  bool q8 = false;       // int8 weights
};

class Scheduler {
 public:
  // The model and tokenizer must outlive the scheduler.
  Scheduler(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, SchedulerOptions opt);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues the jobs, all or none: false when the queue has no room for them all.
  // Throws slm::Error for a prompt that leaves no room in the context.
  struct Submitted {
    Job job;
    std::shared_ptr<Channel> channel;
  };
  bool submit(std::vector<Submitted> jobs);

  struct Stats {
    size_t queued = 0;
    int active = 0, slots = 0;
    uint64_t steps = 0, tokens = 0, prompt_tokens = 0;  // tokens: drawn by the model
    uint64_t cancelled = 0;      // jobs whose client left before they finished
    double decode_seconds = 0;   // time in engine steps
    double tokens_per_second = 0;  // the last second's rate
  };
  Stats stats() const;
  int context() const { return engine_.context(); }

 private:
  struct Seq {
    Job job;
    std::shared_ptr<Channel> channel;
    std::vector<uint32_t> ids;  // prompt and generated tokens
    int pos = 0;                // tokens in the cache
    int generated = 0;
    Rng rng;
    TextStream text;
    size_t raw_bytes = 0;  // bytes of all generated tokens
    size_t emitted = 0;    // bytes of final text given to the channel (a prefix of the raw text)
    std::deque<TokenLogprob> held;  // logprobs of tokens whose text is still held back
  };
  void emit(Seq& s, const std::string& text);
  void loop();
  bool wait_for_work();
  void step();
  std::optional<Submitted> next_job(size_t max_prompt);
  void accept(int slot, const float* logits);
  void finish(int slot, const char* why);

  const tokenizer::Tokenizer& tok_;
  const int V_;
  const uint32_t eot_;
  SchedulerOptions opt_;
  infer::Engine engine_;
  std::vector<std::optional<Seq>> slots_;
  std::vector<infer::Engine::Row> rows_;
  std::vector<int> row_slot_;
  std::vector<std::pair<int, size_t>> admitted_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Submitted> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::chrono::steady_clock::time_point window_start_;
  uint64_t window_tokens_ = 0;
  std::thread thread_;
};

}  // namespace slm::serve
