#pragma once
// A tokenizer and a small random model for the inference and serving tests: no training,
// so they start at once; the weights are scaled up so the next-token distribution is
// peaked and varied.
#include <algorithm>
#include <memory>
#include <string>

#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"
#include "slm/tokenizer/bpe_trainer.h"

namespace slm::test {

struct TinyModel {
  std::unique_ptr<tokenizer::Tokenizer> tok;
  std::unique_ptr<model::Transformer<float>> m;
  // context: the model's context; untied: a separate output head whose rows for
  // <|endoftext|> and every token with a non-ASCII byte are zero (logit 0, below the best
  // of the other random logits), so greedy decoding runs to max_tokens and writes ASCII.
  explicit TinyModel(int context = 96, bool untied = false) {
    tokenizer::WordCounts wc;
    for (int i = 0; i < 30; ++i) wc.add_text("Once upon a time, there was a little dog. The dog liked to run. ");
    tokenizer::TrainOptions o;
    o.vocab_size = 300;
    o.quiet = true;
    o.min_frequency = 1;
    tok = std::make_unique<tokenizer::Tokenizer>(tokenizer::train_bpe(wc, o));
    model::ModelConfig c;
    c.vocab_size = int(tok->vocab_size());
    c.dim = 32;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = 2;
    c.hidden_dim = 48;
    c.context = context;
    c.tie_embeddings = !untied;
    m = std::make_unique<model::Transformer<float>>(c);
    m->init_weights(3);
    for (int64_t i = 0; i < m->num_params(); ++i) m->params()[i] *= 30;
    if (untied)
      for (uint32_t id = 0; id < tok->vocab_size(); ++id) {
        std::string piece;
        tok->decode_append(id, piece);
        const bool ascii = std::all_of(piece.begin(), piece.end(), [](char ch) { return (ch & 0x80) == 0; });
        if (ascii && id != tok->eot()) continue;
        float* row = m->param(m->layout().lm_head) + size_t(id) * size_t(c.dim);
        std::fill(row, row + c.dim, 0.f);
      }
  }
};

}  // namespace slm::test
