#pragma once
// `slm data pack`: corpus files -> token shards (llm.c .bin) for pre-training. Each
// document is encoded and followed by <|endoftext|>. Encoding runs on all cores; the
// output does not depend on the thread count.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/tokenizer/bpe.h"

namespace slm::data {

struct PackOptions {
  std::vector<std::string> inputs;  // files or folders; files named val* feed the validation shards
  std::string out_dir;
  uint64_t shard_tokens = 100'000'000;  // tokens a shard (llm.c's default size)
  double val_fraction = -1;  // share of train documents moved to validation by content hash;
                             // -1: 0.01 when no val* file is given, else 0
  int threads = 1;
  bool quiet = false;
};

struct PackStats {
  uint64_t train_docs = 0, val_docs = 0, train_tokens = 0, val_tokens = 0;
  std::vector<std::string> train_shards, val_shards;
  double bytes = 0, seconds = 0;
};

PackStats pack_corpus(const tokenizer::Tokenizer& tok, const PackOptions& opt);

// The shard files of a packed folder whose names start with split ("train" or "val").
std::vector<std::string> list_shards(const std::string& dir, const std::string& split);

}  // namespace slm::data
