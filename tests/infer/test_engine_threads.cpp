// The engine's one-region-per-call forward pass (engine.cpp) against the model's plain
// full forward pass: the same greedy tokens, at one, two and three threads, for prompts
// fed in one call and for decoding row by row; q8 gives the same tokens at every thread
// count (its int8 sums are exact, so threads cannot change them).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <set>
#include <vector>

#include "slm/infer/engine.h"

using namespace slm;

namespace {

model::ModelConfig shape() {
  model::ModelConfig c;
  c.vocab_size = 301, c.dim = 72, c.n_layers = 2, c.n_heads = 6, c.n_kv_heads = 3, c.hidden_dim = 200;
  c.context = 48;
  return c;
}

uint32_t argmax(const float* z, int n) { return uint32_t(std::max_element(z, z + n) - z); }

// Greedy tokens after the prompt by the full forward pass over the whole sequence each step.
std::vector<uint32_t> greedy_full(model::Transformer<float>& m, std::vector<uint32_t> seq, int steps) {
  std::vector<uint32_t> out;
  for (int s = 0; s < steps; ++s) {
    std::vector<int32_t> ids(seq.begin(), seq.end());
    m.forward(ids.data(), 1, int(ids.size()));
    out.push_back(argmax(m.logits() + (ids.size() - 1) * size_t(m.config().vocab_size), m.config().vocab_size));
    seq.push_back(out.back());
  }
  return out;
}

std::vector<uint32_t> greedy_engine(const model::Transformer<float>& m, const std::vector<uint32_t>& prompt, int steps,
                                    bool q8, int threads) {
  omp_set_num_threads(threads);
  infer::Engine e(m, 1, q8);
  const int V = m.config().vocab_size;
  const float* l = e.feed(prompt.data(), int(prompt.size()));
  std::vector<uint32_t> out;
  for (int s = 0; s < steps; ++s) {
    out.push_back(argmax(l, V));
    l = e.feed(&out.back(), 1, int(prompt.size()) + s);
  }
  return out;
}

}  // namespace

TEST(EngineThreads, GreedyTokensEqualTheFullForwardPassAtEveryThreadCount) {
  model::Transformer<float> m(shape());
  m.init_weights(21);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 8;  // decisive logits, attention that matters
  const std::vector<uint32_t> prompt = {5, 200, 17, 42, 3, 99, 250, 61, 9};  // 9 rows: the GEMM path
  const int saved = omp_get_max_threads();
  const auto want = greedy_full(m, prompt, 30);
  EXPECT_GT(std::set<uint32_t>(want.begin(), want.end()).size(), 3u) << "a degenerate continuation tests little";
  for (int threads : {1, 2, 3}) EXPECT_EQ(greedy_engine(m, prompt, 30, false, threads), want) << threads << " threads";
  const auto q8 = greedy_engine(m, prompt, 30, true, 1);
  for (int threads : {2, 3}) EXPECT_EQ(greedy_engine(m, prompt, 30, true, threads), q8) << "q8, " << threads << " threads";
  omp_set_num_threads(saved);
}
