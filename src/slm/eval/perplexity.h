#pragma once
// Loss and perplexity of a model on held-out tokens: the val_*.bin shards of a folder
// from slm data pack, one .bin shard, or a text/JSONL corpus encoded with the model's
// tokenizer (documents joined by <|endoftext|>, as pack does). Non-overlapping windows
// of the model's context; every position is predicted once.
#include <cstdint>
#include <string>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::eval {

struct Perplexity {
  double loss = 0, perplexity = 0, bits_per_byte = -1;  // bits per byte: text inputs only
  int64_t tokens = 0;
};

Perplexity eval_perplexity(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& path,
                           int64_t max_tokens = 1 << 20);

}  // namespace slm::eval
