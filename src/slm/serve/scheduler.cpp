#include "slm/serve/scheduler.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "slm/util/error.h"

namespace slm::serve {

using Clock = std::chrono::steady_clock;

void Channel::append(const std::string& text, std::vector<TokenLogprob> logprobs) {
  if (text.empty() && logprobs.empty()) return;
  std::lock_guard lock(mu_);
  p_.text += text;
  for (auto& l : logprobs) p_.logprobs.push_back(std::move(l));
  changed_ = true;
  cv_.notify_all();
}

void Channel::close(const std::string& finish, int prompt_tokens, int completion_tokens) {
  std::lock_guard lock(mu_);
  p_.done = true;
  p_.finish = finish;
  p_.prompt_tokens = prompt_tokens;
  p_.completion_tokens = completion_tokens;
  changed_ = true;
  cv_.notify_all();
}

bool Channel::take(Progress& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return changed_; })) return false;
  out = p_;
  p_.text.clear();
  p_.logprobs.clear();
  changed_ = false;
  return true;
}

Scheduler::Scheduler(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok, SchedulerOptions opt)
    : tok_(tok), V_(m.config().vocab_size), eot_(tok.eot()), opt_(opt),
      engine_(m, std::max(1, opt.slots), opt.q8), slots_(size_t(std::max(1, opt.slots))) {
  if (int64_t(tok.vocab_size()) > V_)
    throw Error("the tokenizer's vocabulary (" + std::to_string(tok.vocab_size()) + ") is larger than the model's (" +
                std::to_string(V_) + ")");
  stats_.slots = int(slots_.size());
  window_start_ = Clock::now();
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Scheduler::submit(std::vector<Submitted> jobs) {
  for (const auto& j : jobs)
    if (j.job.prompt.empty() || int(j.job.prompt.size()) >= engine_.context())
      throw Error("the prompt has " + std::to_string(j.job.prompt.size()) + " tokens; the model's context holds " +
                  std::to_string(engine_.context()) + " with room for at least one more");
  std::lock_guard lock(mu_);
  if (queue_.size() + jobs.size() > opt_.queue) return false;
  for (auto& j : jobs) queue_.push_back(std::move(j));
  cv_.notify_all();
  return true;
}

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.queued = queue_.size();
  return s;
}

void Scheduler::loop() {
  if (opt_.threads > 0) omp_set_num_threads(opt_.threads);  // a new thread starts from the default
  while (wait_for_work()) {
    try {
      step();
    } catch (const std::exception& e) {
      // Not expected (submit checks every job), but one bad step must not end the server:
      // its sequences end with finish "error", and the scheduler goes on with new jobs.
      std::fprintf(stderr, "slm serve: error while decoding: %s\n", e.what());
      for (size_t i = 0; i < slots_.size(); ++i)
        if (slots_[i]) finish(int(i), "error");
    }
  }
  for (auto& s : slots_)  // shutting down: tell whoever still waits
    if (s) s->channel->close("length", int(s->job.prompt.size()), s->generated);
  std::lock_guard lock(mu_);
  for (auto& q : queue_) q.channel->close("length", int(q.job.prompt.size()), 0);
}

// Sleeps while there is nothing to decode and nothing queued; false when stopping.
bool Scheduler::wait_for_work() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stopping_ || stats_.active > 0 || !queue_.empty(); });
  return !stopping_;
}

// One step of the engine: a row for each live sequence (its last token), and the whole
// prompt of each queued job that takes a free slot, all in one engine call, so the weights
// are read once for both (a prompt fed alone would read them all again for a few rows).
// Live sequences draw their next token from their row; a new one its first token from its
// prompt's last row. Cancelled sequences leave first.
void Scheduler::step() {
  rows_.clear();
  row_slot_.clear();
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]) continue;
    if (slots_[i]->channel->cancelled()) {
      finish(int(i), "cancelled");
      continue;
    }
    rows_.push_back({slots_[i]->ids.back(), int(i), slots_[i]->pos});
    row_slot_.push_back(int(i));
  }
  const size_t decoding = rows_.size();
  admitted_.clear();  // (slot, the row of its prompt's last token)
  // Prompt rows per step at most one context's worth (any one prompt fits): the step's
  // buffers, logits included, stay bounded however many long prompts arrive at once.
  size_t room = size_t(engine_.context());
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot]) continue;
    std::optional<Submitted> next = next_job(room);
    if (!next) break;
    room -= next->job.prompt.size();
    Seq s{std::move(next->job), std::move(next->channel), {}, 0, 0, Rng(0), TextStream(), 0, 0, {}};
    s.ids = s.job.prompt;
    s.rng = Rng(s.job.seed);
    s.text = TextStream(s.job.stop);
    for (size_t p = 0; p < s.ids.size(); ++p) rows_.push_back({s.ids[p], int(slot), int(p)});
    s.pos = int(s.ids.size());
    slots_[slot] = std::move(s);
    admitted_.emplace_back(int(slot), rows_.size() - 1);
  }
  if (rows_.empty()) return;
  const auto t0 = Clock::now();
  const float* logits = engine_.feed(rows_);
  for (size_t r = 0; r < decoding; ++r) {
    ++slots_[size_t(row_slot_[r])]->pos;
    accept(row_slot_[r], logits + r * size_t(V_));
  }
  for (const auto& [slot, last] : admitted_) {
    if (slots_[size_t(slot)]->job.max_tokens <= 0) finish(slot, "length");
    else accept(slot, logits + last * size_t(V_));
  }
  const auto t1 = Clock::now();
  const uint64_t drawn = decoding + admitted_.size();
  std::lock_guard lock(mu_);
  ++stats_.steps;
  stats_.tokens += drawn;
  stats_.decode_seconds += std::chrono::duration<double>(t1 - t0).count();
  window_tokens_ += drawn;
  const double window = std::chrono::duration<double>(t1 - window_start_).count();
  if (window >= 1.0) {
    stats_.tokens_per_second = double(window_tokens_) / window;
    window_tokens_ = 0;
    window_start_ = t1;
  }
}

// The next queued job whose client is still there (the others are dropped undecoded), if
// its prompt has at most max_prompt tokens.
std::optional<Scheduler::Submitted> Scheduler::next_job(size_t max_prompt) {
  std::lock_guard lock(mu_);
  while (!queue_.empty() && queue_.front().channel->cancelled()) {
    queue_.front().channel->close("cancelled", int(queue_.front().job.prompt.size()), 0);
    queue_.pop_front();
    ++stats_.cancelled;
  }
  if (queue_.empty() || queue_.front().job.prompt.size() > max_prompt) return std::nullopt;
  Submitted next = std::move(queue_.front());
  queue_.pop_front();
  ++stats_.active;
  stats_.prompt_tokens += next.job.prompt.size();
  return next;
}

namespace {

// log-softmax of the logits at `token`, and the k likeliest tokens with theirs.
TokenLogprob token_logprob(const float* logits, int V, uint32_t token, int k, const tokenizer::Tokenizer& tok) {
  float mx = logits[0];
  for (int i = 1; i < V; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int i = 0; i < V; ++i) sum += std::exp(double(logits[i] - mx));
  const double lse = double(mx) + std::log(sum);
  TokenLogprob out;
  tok.decode_append(token, out.token);
  out.logprob = float(double(logits[token]) - lse);
  std::vector<int> best;  // the k largest logits, largest first (k <= 5: insertion is enough)
  for (int i = 0; i < V; ++i) {
    if (int(best.size()) == k && logits[i] <= logits[best.back()]) continue;
    if (int(best.size()) == k) best.pop_back();
    auto at = std::find_if(best.begin(), best.end(), [&](int b) { return logits[i] > logits[b]; });
    best.insert(at, i);
  }
  for (int b : best) {
    std::string piece;
    tok.decode_append(uint32_t(b), piece);
    out.top.emplace_back(std::move(piece), float(double(logits[b]) - lse));
  }
  return out;
}

}  // namespace

// Gives final text to the client, with the logprobs of the tokens it begins.
void Scheduler::emit(Seq& s, const std::string& text) {
  s.emitted += text.size();
  std::vector<TokenLogprob> ready;
  while (!s.held.empty() && s.held.front().offset < s.emitted) {
    ready.push_back(std::move(s.held.front()));
    s.held.pop_front();
  }
  s.channel->append(text, std::move(ready));
}

// Draws the slot's next token and decides whether its sequence goes on.
void Scheduler::accept(int slot, const float* logits) {
  Seq& s = *slots_[size_t(slot)];
  const uint32_t next = infer::sample_token(logits, V_, s.job.sampling, s.rng, s.ids);
  if (s.job.stop_at_eot && next == eot_) return finish(slot, "stop");
  s.ids.push_back(next);
  ++s.generated;
  std::string piece;
  tok_.decode_append(next, piece);
  if (s.job.logprobs >= 0) {
    s.held.push_back(token_logprob(logits, V_, next, s.job.logprobs, tok_));
    s.held.back().offset = s.raw_bytes;
  }
  s.raw_bytes += piece.size();
  emit(s, s.text.push(piece));
  if (s.text.stopped()) return finish(slot, "stop");
  if (s.generated >= s.job.max_tokens || s.pos >= engine_.context()) return finish(slot, "length");
}

void Scheduler::finish(int slot, const char* why) {
  Seq& s = *slots_[size_t(slot)];
  emit(s, s.text.flush());  // the tokens of a stop string never reach the text, nor their logprobs
  s.channel->close(why, int(s.job.prompt.size()), s.generated);
  slots_[size_t(slot)].reset();
  std::lock_guard lock(mu_);
  --stats_.active;
  if (std::string(why) == "cancelled") ++stats_.cancelled;
}

}  // namespace slm::serve
