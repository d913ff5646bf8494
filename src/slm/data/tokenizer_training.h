#pragma once
// Training a tokenizer on corpus files, counting in parallel on all cores.
#include <string>
#include <vector>

#include "slm/tokenizer/bpe_trainer.h"

namespace slm::data {

struct TokenizerTrainStats {
  double bytes = 0, seconds_counting = 0, seconds_merging = 0;
  uint64_t documents = 0, pieces = 0, unique_pieces = 0;
};

tokenizer::Tokenizer train_tokenizer(const std::vector<std::string>& files, const tokenizer::TrainOptions& opt,
                                     int threads, TokenizerTrainStats* stats = nullptr);

// How well a tokenizer compresses corpus files (slm tokenizer info): bytes per token,
// special-token text encoded as ordinary text, on one thread.
struct CompressionStats {
  double bytes = 0, tokens = 0, seconds = 0;
  double bytes_per_token() const { return tokens > 0 ? bytes / tokens : 0.0; }
};
CompressionStats measure_compression(const tokenizer::Tokenizer& tok, const std::vector<std::string>& files);

}  // namespace slm::data
