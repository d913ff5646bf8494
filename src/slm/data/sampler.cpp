#include "slm/data/sampler.h"

#include <numeric>

#include "slm/util/error.h"

namespace slm::data {

BatchSampler::BatchSampler(std::vector<const TokenShard*> shards, SamplerOptions opt)
    : shards_(std::move(shards)), opt_(opt) {
  if (opt_.context < 1) throw Error("context must be at least 1", "--context");
  if (opt_.batch < 1) throw Error("batch must be at least 1", "--batch");
  if (opt_.stride == 0) opt_.stride = opt_.context;
  if (opt_.stride < 1) throw Error("stride must be at least 1", "--stride");
  if (opt_.world < 1 || opt_.rank < 0 || opt_.rank >= opt_.world) throw Error("rank must be in [0, world)", "rank");
  if (opt_.accum < 1) throw Error("accum must be at least 1", "train.grad_accum");
  const uint64_t span = uint64_t(opt_.context) + 1;
  for (uint32_t s = 0; s < shards_.size(); ++s)
    for (uint64_t start = 0; start + span <= shards_[s]->size(); start += uint64_t(opt_.stride))
      starts_.push_back({s, start});
  if (starts_.size() > UINT32_MAX) throw Error("too many windows for one sampler; raise the stride");
  // Every worker gets the same number of windows, so workers stay in step; the few left
  // over after the last whole step are skipped this epoch (a new shuffle reaches them).
  const uint64_t steps = starts_.size() / windows_per_step();
  per_worker_ = size_t(steps * uint64_t(opt_.batch) * uint64_t(opt_.accum));
  if (steps == 0)
    throw Error("the shards hold " + std::to_string(starts_.size()) + " windows of " + std::to_string(span) +
                    " tokens, too few for one step (" + std::to_string(opt_.world) + " worker(s) x " +
                    std::to_string(opt_.accum) + " batch(es) of " + std::to_string(opt_.batch) + ")",
                shards_.empty() ? std::string("no shards") : shards_[0]->path());
}

void BatchSampler::make_order(uint64_t epoch) {
  if (order_epoch_ == epoch) return;
  order_.resize(starts_.size());
  std::iota(order_.begin(), order_.end(), 0u);
  if (opt_.shuffle) {
    Rng rng(opt_.seed * 0x9E3779B97F4A7C15ull + epoch);
    rng.shuffle(order_);
  }
  order_epoch_ = epoch;
}

BatchSampler::Window BatchSampler::window_at(uint64_t epoch, uint64_t position) {
  make_order(epoch);
  return starts_[order_[position]];
}

void BatchSampler::next(int32_t* inputs, int32_t* targets) {
  const int T = opt_.context;
  if (micro_ == 0) {
    // A step does not straddle epochs: the tail that does not fill a step is skipped.
    if (state_.position + windows_per_step() > starts_.size()) {
      ++state_.epoch;
      state_.position = 0;
    }
    step_start_ = state_.position;
    state_.position += windows_per_step();  // the whole world's share of this step
  }
  const uint64_t slot = uint64_t(opt_.rank) * uint64_t(opt_.accum) + uint64_t(micro_);
  micro_ = (micro_ + 1) % opt_.accum;
  for (int b = 0; b < opt_.batch; ++b) {
    Window w = window_at(state_.epoch, step_start_ + slot * uint64_t(opt_.batch) + uint64_t(b));
    const TokenShard& shard = *shards_[w.shard];
    for (int t = 0; t < T; ++t) {
      inputs[b * T + t] = int32_t(shard[w.start + uint64_t(t)]);
      targets[b * T + t] = int32_t(shard[w.start + uint64_t(t) + 1]);
    }
  }
}

void BatchSampler::restore(State s) {
  if (s.position > starts_.size()) throw Error("sampler position past the end of an epoch", "trainer_state.json");
  state_ = s;
  micro_ = 0;
}

}  // namespace slm::data
