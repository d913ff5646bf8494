#include "slm/data/shard.h"

#include <cstring>

#include "slm/util/error.h"

namespace slm::data {

ShardWriter::ShardWriter(const std::string& path, int token_bytes) : file_(path), width_(token_bytes) {
  if (width_ != 2 && width_ != 4) throw Error("token width must be 2 or 4 bytes", path);
  int32_t header[256] = {};
  file_.write(header, sizeof header);  // completed at commit()
}

void ShardWriter::append(const uint32_t* tokens, size_t n) {
  if (width_ == 4) {
    file_.write(tokens, n * 4);  // x86 and ARM are little-endian, as the format is
  } else {
    buf16_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      if (tokens[i] > 0xFFFF) throw Error("token " + std::to_string(tokens[i]) + " does not fit a uint16 shard", file_.path());
      buf16_[i] = uint16_t(tokens[i]);
    }
    file_.write(buf16_.data(), n * 2);
  }
  count_ += n;
}

void ShardWriter::commit() {
  if (count_ > uint64_t(INT32_MAX)) throw Error("too many tokens for one shard (at most 2^31 - 1)", file_.path());
  int32_t header[3] = {width_ == 2 ? kShardMagic16 : kShardMagic32, width_ == 2 ? kShardVersion16 : kShardVersion32,
                       int32_t(count_)};
  file_.write_at(0, header, sizeof header);
  file_.commit();
}

TokenShard::TokenShard(const std::string& path) : map_(path) {
  if (map_.size() < kShardHeaderBytes)
    throw Error("not a token shard: shorter than the 1024-byte header (" + std::to_string(map_.size()) + " bytes)", path);
  int32_t h[3];
  std::memcpy(h, map_.data(), sizeof h);
  if (h[0] == kShardMagic16 && h[1] == kShardVersion16) width_ = 2;
  else if (h[0] == kShardMagic32 && h[1] == kShardVersion32) width_ = 4;
  else if (h[0] != kShardMagic16 && h[0] != kShardMagic32)
    throw Error("not a token shard: header[0] (magic) is " + std::to_string(h[0]) + ", expected 20240520 or 20240801", path);
  else
    throw Error("unsupported shard version: header[1] is " + std::to_string(h[1]) + " for magic " + std::to_string(h[0]), path);
  if (h[2] < 0) throw Error("header[2] (token count) is negative", path);
  count_ = size_t(h[2]);
  size_t expected = kShardHeaderBytes + count_ * size_t(width_);
  if (map_.size() != expected)
    throw Error("header[2] says " + std::to_string(count_) + " tokens (" + std::to_string(expected) +
                    " bytes), but the file has " + std::to_string(map_.size()) + " bytes: truncated or corrupt",
                path);
}

uint32_t TokenShard::max_token() const {
  uint32_t m = 0;
  for (size_t i = 0; i < count_; ++i) m = std::max(m, (*this)[i]);
  return m;
}

OpenShards::OpenShards(const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    owned.push_back(std::make_unique<TokenShard>(p));
    ptrs.push_back(owned.back().get());
  }
}

uint32_t OpenShards::max_token() const {
  uint32_t m = 0;
  for (const auto& s : owned) m = std::max(m, s->max_token());
  return m;
}

}  // namespace slm::data
