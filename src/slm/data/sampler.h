#pragma once
// Input/target pairs for next-token prediction. A window of context+1 tokens starting at
// `start` gives the input tokens[start, start+T) and the target tokens[start+1,
// start+T+1): position t of the input predicts target t, having seen inputs 0..t. So the
// window "Every effort moves you forward" (T = 4) teaches
//   Every -> effort; Every effort -> moves; Every effort moves -> you; ... -> forward.
// Windows start every `stride` tokens (stride = T: no overlap) and never cross a shard.
#include <cstdint>
#include <vector>

#include "slm/data/shard.h"
#include "slm/util/rng.h"

namespace slm::data {

struct SamplerOptions {
  int context = 256;   // T
  int batch = 8;       // B windows a batch
  int64_t stride = 0;  // tokens between window starts; 0 means T
  bool shuffle = true; // random order (a new permutation every epoch), or in order
  uint64_t seed = 1;
  // Data parallel: worker `rank` of `world`, each taking `accum` batches a step, sees a
  // disjoint share of the windows. A step reads the next world x accum x batch windows of
  // the shuffled order as slots of `batch` windows; worker r's k-th batch of the step is
  // slot r x accum + k. So 2 workers x 1 batch read the same windows, slot for slot, as
  // 1 worker x 2 batches, and the position (counted over the whole world) means the same
  // at any world size with the same world x accum.
  int rank = 0, world = 1, accum = 1;
};

class BatchSampler {
 public:
  // Throws slm::Error when no shard is long enough for one window.
  BatchSampler(std::vector<const TokenShard*> shards, SamplerOptions opt);

  // Fills inputs and targets, each B*T tokens, row-major [B, T].
  void next(int32_t* inputs, int32_t* targets);

  size_t windows() const { return starts_.size(); }          // in all shards
  size_t windows_per_epoch() const { return per_worker_; }   // for this worker
  size_t batches_per_epoch() const { return per_worker_ / size_t(opt_.batch); }
  uint64_t windows_per_step() const { return uint64_t(opt_.batch) * uint64_t(opt_.accum) * uint64_t(opt_.world); }

  // Where the sampler is, so that a resumed run continues with the same batches. Taken
  // between steps (after a multiple of accum batches); position counts the whole world's
  // windows of this epoch.
  struct State {
    uint64_t epoch = 0, position = 0;
  };
  State state() const { return state_; }
  void restore(State s);

  // The (shard, start) of the window that a given position of an epoch reads.
  struct Window {
    uint32_t shard;
    uint64_t start;
  };
  Window window_at(uint64_t epoch, uint64_t position);

 private:
  void make_order(uint64_t epoch);
  std::vector<const TokenShard*> shards_;
  SamplerOptions opt_;
  std::vector<Window> starts_;   // every window, in shard order
  std::vector<uint32_t> order_;  // this epoch's permutation of starts_
  uint64_t order_epoch_ = UINT64_MAX;
  size_t per_worker_ = 0;
  State state_;
  uint64_t step_start_ = 0;  // the position of this step's first window
  int micro_ = 0;            // batches of this step served so far
};

}  // namespace slm::data
