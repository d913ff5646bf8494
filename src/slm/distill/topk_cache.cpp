#include "slm/distill/topk_cache.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>

#include <fmt/format.h>

#include "slm/data/sampler.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/progress.h"
#include "slm/util/rng.h"

namespace slm::distill {

namespace fs = std::filesystem;
using nlohmann::json;

json TopkCacheSpec::to_json(int vocab) const {
  return {{"format", "slm-teacher-topk-1"}, {"k", k},           {"context", context},
          {"windows", windows},             {"seed", seed},     {"vocab_size", vocab},
          {"teacher", teacher},             {"teacher_hash", teacher_hash}, {"data", data}};
}

std::string model_hash(const model::Transformer<float>& m) {
  std::string_view bytes(reinterpret_cast<const char*>(m.params()), size_t(m.num_params()) * sizeof(float));
  return fmt::format("{:016x}", hash64(bytes, hash64(m.config().to_json().dump())));
}

namespace {

// The k largest logits of a row and their ids, largest first.
void row_topk(const float* z, int V, int k, int32_t* ids, float* vals, std::vector<int32_t>& idx) {
  idx.resize(size_t(V));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) { return z[a] > z[b]; });
  for (int i = 0; i < k; ++i) ids[i] = idx[size_t(i)], vals[i] = z[idx[size_t(i)]];
}

template <class X>
void write_all(std::ofstream& f, const X* p, size_t n, const std::string& path) {
  f.write(reinterpret_cast<const char*>(p), std::streamsize(n * sizeof(X)));
  if (!f) throw Error("cannot write (disk full?)", path);
}

}  // namespace

void build_topk_cache(model::Transformer<float>& teacher, const data::OpenShards& train, const TopkCacheSpec& spec,
                      int batch, const std::string& dir, bool quiet) {
  const int T = spec.context, K = spec.k, V = teacher.config().vocab_size;
  if (K < 1 || K > V) throw Error(fmt::format("k is {}: expected 1 to the vocabulary size {}", K, V), "--cache-topk");
  data::SamplerOptions so;
  so.context = T;
  so.batch = batch;
  so.seed = spec.seed;
  data::BatchSampler sampler(train.ptrs, so);
  const int64_t W = spec.windows;
  AtomicDir out(dir);
  std::ofstream ftok(out.file("tokens.bin"), std::ios::binary), fids(out.file("topk_ids.bin"), std::ios::binary),
      fval(out.file("topk_logits.bin"), std::ios::binary);
  std::vector<int32_t> x(size_t(batch) * T), y(x.size()), ids(size_t(batch) * T * K), row(size_t(T) + 1);
  std::vector<float> vals(ids.size());
  Progress bar("teacher top-k", double(W), "windows", quiet);
  for (int64_t done = 0; done < W;) {
    sampler.next(x.data(), y.data());
    teacher.forward(x.data(), batch, T);
    const int rows = int(std::min<int64_t>(batch, W - done));
#pragma omp parallel
    {
      std::vector<int32_t> idx;
#pragma omp for schedule(static)
      for (int n = 0; n < rows * T; ++n)
        row_topk(teacher.logits() + int64_t(n) * V, V, K, ids.data() + int64_t(n) * K, vals.data() + int64_t(n) * K,
                 idx);
    }
    for (int b = 0; b < rows; ++b) {
      // A window's tokens: its inputs and the last target.
      std::copy_n(x.data() + size_t(b) * T, T, row.data());
      row[size_t(T)] = y[size_t(b) * T + size_t(T) - 1];
      write_all(ftok, row.data(), row.size(), out.file("tokens.bin"));
    }
    write_all(fids, ids.data(), size_t(rows) * T * K, out.file("topk_ids.bin"));
    write_all(fval, vals.data(), size_t(rows) * T * K, out.file("topk_logits.bin"));
    done += rows;
    bar.update(double(done));
  }
  bar.finish();
  for (auto* f : {&ftok, &fids, &fval}) {
    f->close();
    if (!*f) throw Error("cannot write the cache (disk full?)", dir);
  }
  write_file_atomic(out.file("meta.json"), spec.to_json(V).dump(2) + "\n");
  out.commit();
}

TopkCache::TopkCache(const std::string& dir) : dir_(dir) {
  const std::string meta_path = (fs::path(dir) / "meta.json").string();
  if (!fs::exists(meta_path)) throw Error("not a teacher top-k cache (no meta.json)", dir);
  try {
    meta_ = json::parse(read_file(meta_path));
    if (meta_.value("format", "") != "slm-teacher-topk-1") throw Error("unknown format", meta_path);
    k_ = meta_.at("k").get<int>();
    T_ = meta_.at("context").get<int>();
    V_ = meta_.at("vocab_size").get<int>();
    W_ = meta_.at("windows").get<int64_t>();
  } catch (const json::exception& e) {
    throw Error(std::string("bad cache metadata: ") + e.what(), meta_path);
  }
  auto open = [&](const char* name, int64_t expect_bytes) {
    auto f = std::make_unique<MappedFile>((fs::path(dir) / name).string());
    if (int64_t(f->size()) != expect_bytes)
      throw Error(fmt::format("{} bytes where meta.json implies {} (a cache cut short?)", f->size(), expect_bytes),
                  f->path());
    return f;
  };
  tokens_ = open("tokens.bin", W_ * (T_ + 1) * 4);
  ids_ = open("topk_ids.bin", W_ * T_ * k_ * 4);
  logits_ = open("topk_logits.bin", W_ * T_ * k_ * 4);
}

bool TopkCache::matches(const TopkCacheSpec& spec, std::string& why) const {
  if (meta_.value("teacher_hash", "") != spec.teacher_hash)
    why = fmt::format("made by another teacher ({})", meta_.value("teacher", "?"));
  else if (k_ != spec.k)
    why = fmt::format("k is {}, not {}", k_, spec.k);
  else if (T_ != spec.context)
    why = fmt::format("context is {}, not {}", T_, spec.context);
  else if (W_ < spec.windows)
    why = fmt::format("it holds {} windows, fewer than the {} asked for", W_, spec.windows);
  else if (meta_.value("data", "") != spec.data)
    why = fmt::format("made from other data ({})", meta_.value("data", "?"));
  else
    return true;
  return false;
}

const int32_t* TopkCache::tokens(int64_t w) const {
  return reinterpret_cast<const int32_t*>(tokens_->data()) + w * (T_ + 1);
}
const int32_t* TopkCache::ids(int64_t w) const {
  return reinterpret_cast<const int32_t*>(ids_->data()) + w * T_ * k_;
}
const float* TopkCache::logits(int64_t w) const {
  return reinterpret_cast<const float*>(logits_->data()) + w * T_ * k_;
}

CachedBatches::CachedBatches(const TopkCache& cache, int batch, uint64_t seed)
    : cache_(cache), batch_(batch), seed_(seed) {
  if (cache.windows() < batch)
    throw Error(fmt::format("the cache holds {} windows, fewer than a batch of {}", cache.windows(), batch));
}

void CachedBatches::plan_epoch() {
  if (planned_ == epoch_) return;
  order_.resize(size_t(cache_.windows()));
  std::iota(order_.begin(), order_.end(), 0);
  Rng rng(seed_ * 0x9E3779B97F4A7C15ull + epoch_);
  rng.shuffle(order_);
  planned_ = epoch_;
}

void CachedBatches::next(train::Batch& b) {
  const int T = cache_.context();
  b.B = batch_;
  b.T = T;
  b.x.resize(size_t(batch_) * T);
  b.y.resize(b.x.size());
  b.row_ids.resize(size_t(batch_));
  for (int r = 0; r < batch_; ++r) {
    plan_epoch();
    const int64_t w = order_[position_];
    if (++position_ == order_.size()) ++epoch_, position_ = 0;
    const int32_t* tok = cache_.tokens(w);
    std::copy_n(tok, T, b.x.data() + size_t(r) * T);
    std::copy_n(tok + 1, T, b.y.data() + size_t(r) * T);
    b.row_ids[size_t(r)] = w;
  }
  b.counted = int64_t(b.x.size());
  b.weight = double(b.counted);
}

json CachedBatches::state() const { return {{"epoch", epoch_}, {"position", position_}}; }

void CachedBatches::restore(const json& s) {
  try {
    epoch_ = s.at("epoch").get<uint64_t>();
    position_ = s.at("position").get<uint64_t>();
  } catch (const json::exception& e) {
    throw Error(std::string("bad cached-batch state in the checkpoint: ") + e.what(), "trainer_state.json");
  }
  if (position_ >= uint64_t(cache_.windows())) throw Error("the checkpoint's cache position is past the cache's end", "trainer_state.json");
}

}  // namespace slm::distill
