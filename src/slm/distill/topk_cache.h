#pragma once
// The teacher's top-k logits cached on disk, for a teacher too slow to run beside every
// student step (or several students, or sweeps, from one teacher run). The teacher reads
// a seeded random choice of W windows of the train shards once; the cache keeps each
// window's T + 1 tokens and, for each of its T positions, the k largest teacher logits and
// their ids. A student trained from the cache sees only those windows (its own shuffle of
// them each epoch) and a sparse teacher (train/kd_loss.h).
//
// A folder: meta.json (k, context, windows, vocabulary, what teacher and data made it),
// tokens.bin (int32 [W, T+1]), topk_ids.bin (int32 [W, T, k]), topk_logits.bin (float32
// [W, T, k]), little-endian, written atomically (util/atomic_dir.h).
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "slm/data/shard.h"
#include "slm/model/transformer.h"
#include "slm/train/loop.h"
#include "slm/util/mmap.h"

namespace slm::distill {

struct TopkCacheSpec {
  int k = 32;
  int context = 0;      // T: the student's context
  int64_t windows = 0;  // W
  uint64_t seed = 1;    // which windows
  std::string teacher;  // the teacher's path, and a hash of its weights: a cache of another teacher is refused
  std::string teacher_hash;
  std::string data;     // the data folder
  nlohmann::json to_json(int vocab) const;
};

// A hash of a model's configuration and weights, to tell teachers apart.
std::string model_hash(const model::Transformer<float>& m);

// Runs the teacher over the windows and writes the cache folder (atomically).
void build_topk_cache(model::Transformer<float>& teacher, const data::OpenShards& train, const TopkCacheSpec& spec,
                      int batch, const std::string& dir, bool quiet);

class TopkCache {
 public:
  // Opens a cache folder; throws slm::Error naming the file that is missing or inconsistent.
  explicit TopkCache(const std::string& dir);
  // Whether this cache was made for the spec (same teacher, data, k, context, at least
  // the windows asked for); when not, why not (for the message).
  bool matches(const TopkCacheSpec& spec, std::string& why) const;
  int k() const { return k_; }
  int context() const { return T_; }
  int64_t windows() const { return W_; }
  int vocab() const { return V_; }
  const int32_t* tokens(int64_t w) const;  // T + 1 tokens
  const int32_t* ids(int64_t w) const;     // [T, k]
  const float* logits(int64_t w) const;    // [T, k]

 private:
  std::string dir_;
  nlohmann::json meta_;
  int k_ = 0, T_ = 0, V_ = 0;
  int64_t W_ = 0;
  std::unique_ptr<MappedFile> tokens_, ids_, logits_;
};

// Batches of the cache's windows, shuffled each epoch (seeded); each row's id is its
// window, for the loss to look the teacher up. Resumable from (epoch, position).
class CachedBatches : public train::BatchSource {
 public:
  CachedBatches(const TopkCache& cache, int batch, uint64_t seed);
  void next(train::Batch& b) override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& s) override;

 private:
  void plan_epoch();
  const TopkCache& cache_;
  int batch_;
  uint64_t seed_, epoch_ = 0, position_ = 0, planned_ = UINT64_MAX;
  std::vector<int64_t> order_;
};

}  // namespace slm::distill
