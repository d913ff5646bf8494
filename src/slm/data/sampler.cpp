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
  const uint64_t span = uint64_t(opt_.context) + 1;
  for (uint32_t s = 0; s < shards_.size(); ++s)
    for (uint64_t start = 0; start + span <= shards_[s]->size(); start += uint64_t(opt_.stride))
      starts_.push_back({s, start});
  if (starts_.size() > UINT32_MAX) throw Error("too many windows for one sampler; raise the stride");
  // Every worker gets the same number of windows, so workers stay in step; the few left
  // over by the division are skipped this epoch (a new shuffle reaches them next time).
  per_worker_ = starts_.size() / size_t(opt_.world);
  if (per_worker_ < size_t(opt_.batch))
    throw Error("the shards hold " + std::to_string(starts_.size()) + " windows of " + std::to_string(span) +
                    " tokens, too few for one batch of " + std::to_string(opt_.batch) + " per worker",
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
  // Worker r reads positions r, r + world, r + 2 world, ... of the shared permutation.
  return starts_[order_[position * uint64_t(opt_.world) + uint64_t(opt_.rank)]];
}

void BatchSampler::next(int32_t* inputs, int32_t* targets) {
  const int T = opt_.context;
  for (int b = 0; b < opt_.batch; ++b) {
    // A batch does not straddle epochs: the tail that does not fill a batch is skipped.
    if (state_.position + uint64_t(opt_.batch - b) > per_worker_ && b == 0) {
      ++state_.epoch;
      state_.position = 0;
    }
    Window w = window_at(state_.epoch, state_.position++);
    const TokenShard& shard = *shards_[w.shard];
    for (int t = 0; t < T; ++t) {
      inputs[b * T + t] = int32_t(shard[w.start + uint64_t(t)]);
      targets[b * T + t] = int32_t(shard[w.start + uint64_t(t) + 1]);
    }
  }
}

void BatchSampler::restore(State s) {
  if (s.position > per_worker_) throw Error("sampler position past the end of an epoch", "trainer_state.json");
  state_ = s;
}

}  // namespace slm::data
