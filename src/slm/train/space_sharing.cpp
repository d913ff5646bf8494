#include "slm/train/space_sharing.h"

#include <unordered_map>

#include "slm/tokenizer/bpe.h"
#include "slm/util/error.h"

namespace slm::train {

void refuse_space_sharing_with_adapters(bool share_space_embeddings, bool adapters) {
  if (share_space_embeddings && adapters)
    throw Error("shares the embedding rows of a word's two spellings, but LoRA adapters leave the embedding frozen; "
                "drop one of the two",
                "train.share_space_embeddings");
}

SpaceSharing::SpaceSharing(const tokenizer::Tokenizer& tok, const model::ParamLayout& layout)
    : dim_(layout.tensors[size_t(layout.embed)].shape[1]) {
  const int64_t rows = layout.tensors[size_t(layout.embed)].shape[0];
  const int64_t n = std::min<int64_t>(rows, int64_t(tok.vocab_size()));
  std::unordered_map<std::string, int32_t> id;
  for (int32_t t = 0; t < n; ++t)
    if (!tok.is_special(uint32_t(t))) id.emplace(tok.token(uint32_t(t)), t);
  for (int32_t t = 0; t < n; ++t) {
    const std::string& s = tok.token(uint32_t(t));
    if (tok.is_special(uint32_t(t)) || s.size() < 2 || s[0] != ' ' || s[1] == ' ') continue;
    auto body = id.find(s.substr(1));
    if (body != id.end()) pairs_.emplace_back(t, body->second);
  }
  offsets_.push_back(layout.tensors[size_t(layout.embed)].offset);
  if (layout.lm_head >= 0) offsets_.push_back(layout.tensors[size_t(layout.lm_head)].offset);
}

template <class F>
void SpaceSharing::each_pair(float* x, F f) const {
  for (int64_t off : offsets_)
    for (auto [spaced, body] : pairs_)
      for (int64_t i = 0; i < dim_; ++i) f(x[off + spaced * dim_ + i], x[off + body * dim_ + i]);
}

void SpaceSharing::to_shared(float* params) const {
  each_pair(params, [](float& spaced, float body) { spaced -= body; });
}

void SpaceSharing::to_model(float* params) const {
  each_pair(params, [](float& spaced, float body) { spaced += body; });
}

void SpaceSharing::grads_to_shared(float* grads) const {
  each_pair(grads, [](float spaced, float& body) { body += spaced; });
}

}  // namespace slm::train
