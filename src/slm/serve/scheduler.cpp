#include "slm/serve/scheduler.h"

#include <omp.h>

#include <cstdio>

#include "slm/util/error.h"

namespace slm::serve {

using Clock = std::chrono::steady_clock;

void Channel::append(const std::string& text) {
  if (text.empty()) return;
  std::lock_guard lock(mu_);
  p_.text += text;
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
      admit();
      decode_step();
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

// Queued jobs take free slots: their prompt runs in one pass, and the first token is
// drawn from its last row.
void Scheduler::admit() {
  for (size_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot]) continue;
    Submitted next;
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && queue_.front().channel->cancelled()) {
        queue_.front().channel->close("cancelled", int(queue_.front().job.prompt.size()), 0);
        queue_.pop_front();
      }
      if (queue_.empty()) return;
      next = std::move(queue_.front());
      queue_.pop_front();
      ++stats_.active;
      stats_.prompt_tokens += next.job.prompt.size();
    }
    Seq s{std::move(next.job), std::move(next.channel), {}, 0, 0, Rng(0), TextStream()};
    s.ids = s.job.prompt;
    s.rng = Rng(s.job.seed);
    s.text = TextStream(s.job.stop);
    slots_[slot] = std::move(s);
    Seq& q = *slots_[slot];
    const float* logits = engine_.feed(q.ids.data(), int(q.ids.size()), 0, int(slot));
    q.pos = int(q.ids.size());
    if (q.job.max_tokens <= 0) {
      finish(int(slot), "length");
      continue;
    }
    accept(int(slot), logits);
  }
}

// One row for each live sequence, all in one engine call; cancelled ones leave first.
void Scheduler::decode_step() {
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
  if (rows_.empty()) return;
  const auto t0 = Clock::now();
  const float* logits = engine_.feed(rows_);
  for (size_t r = 0; r < rows_.size(); ++r) {
    ++slots_[size_t(row_slot_[r])]->pos;
    accept(row_slot_[r], logits + r * size_t(V_));
  }
  const auto t1 = Clock::now();
  std::lock_guard lock(mu_);
  ++stats_.steps;
  stats_.tokens += rows_.size();
  stats_.decode_seconds += std::chrono::duration<double>(t1 - t0).count();
  window_tokens_ += rows_.size();
  const double window = std::chrono::duration<double>(t1 - window_start_).count();
  if (window >= 1.0) {
    stats_.tokens_per_second = double(window_tokens_) / window;
    window_tokens_ = 0;
    window_start_ = t1;
  }
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
  s.channel->append(s.text.push(piece));
  if (s.text.stopped()) return finish(slot, "stop");
  if (s.generated >= s.job.max_tokens || s.pos >= engine_.context()) return finish(slot, "length");
}

void Scheduler::finish(int slot, const char* why) {
  Seq& s = *slots_[size_t(slot)];
  s.channel->append(s.text.flush());
  s.channel->close(why, int(s.job.prompt.size()), s.generated);
  slots_[size_t(slot)].reset();
  std::lock_guard lock(mu_);
  --stats_.active;
}

}  // namespace slm::serve
