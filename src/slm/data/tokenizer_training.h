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

}  // namespace slm::data
