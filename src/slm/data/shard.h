#pragma once
// Token shards in llm.c's .bin format: a header of 256 int32 (0: magic, 1: version,
// 2: number of tokens), then the tokens little-endian. uint16 tokens: magic 20240520,
// version 1 (llm.c's GPT-2 shards); uint32 tokens for vocabularies over 65,536: magic
// 20240801, version 7 (llm.c's Llama 3 shards). Shards made by llm.c's scripts load here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "slm/util/atomic_file.h"
#include "slm/util/mmap.h"

namespace slm::data {

constexpr int32_t kShardMagic16 = 20240520, kShardVersion16 = 1;
constexpr int32_t kShardMagic32 = 20240801, kShardVersion32 = 7;
constexpr size_t kShardHeaderBytes = 256 * sizeof(int32_t);

// Writes one shard atomically: tokens are appended, the header is completed at commit().
class ShardWriter {
 public:
  // token_bytes: 2 (uint16) or 4 (uint32); use token_bytes_for(vocab_size).
  ShardWriter(const std::string& path, int token_bytes);
  void append(const uint32_t* tokens, size_t n);  // throws when a token does not fit
  void commit();
  uint64_t tokens() const { return count_; }
  static int token_bytes_for(uint64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

 private:
  AtomicFile file_;
  int width_;
  uint64_t count_ = 0;
  std::vector<uint16_t> buf16_;
};

// A memory-mapped shard. The header is checked against the file's size on open.
class TokenShard {
 public:
  explicit TokenShard(const std::string& path);  // throws slm::Error naming file and field
  size_t size() const { return count_; }
  uint32_t operator[](size_t i) const {
    return width_ == 2 ? uint32_t(tokens16()[i]) : tokens32()[i];
  }
  int token_bytes() const { return width_; }
  const std::string& path() const { return map_.path(); }
  uint32_t max_token() const;  // scans the shard

 private:
  const uint16_t* tokens16() const { return reinterpret_cast<const uint16_t*>(map_.data() + kShardHeaderBytes); }
  const uint32_t* tokens32() const { return reinterpret_cast<const uint32_t*>(map_.data() + kShardHeaderBytes); }
  MappedFile map_;
  size_t count_ = 0;
  int width_ = 2;
};

// Several shards opened together, as the sampler takes them.
struct OpenShards {
  std::vector<std::unique_ptr<TokenShard>> owned;
  std::vector<const TokenShard*> ptrs;
  explicit OpenShards(const std::vector<std::string>& paths);
  uint32_t max_token() const;  // over all shards (0 when there are none)
};

}  // namespace slm::data
