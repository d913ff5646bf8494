#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "slm/data/pack.h"
#include "slm/data/shard.h"
#include "slm/stories/story_corpus.h"
#include "slm/data/tokenizer_training.h"
#include "slm/infer/engine.h"
#include "slm/infer/generate.h"
#include "slm/model/model_files.h"
#include "slm/model/quantized_files.h"
#include "slm/tensor/half.h"
#include "slm/tensor/q8.h"
#include "slm/train/pretrain.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"
#include "test_util.h"

using namespace slm;

TEST(Q8, RoundTripErrorIsWithinHalfAStep) {
  Rng rng(1);
  std::vector<float> w(4 * 64);
  for (auto& x : w) x = float(rng.uniform() * 2 - 1);
  auto q = tensor::quantize_q8(w.data(), 4, 64);
  for (size_t i = 0; i < w.size(); ++i) {
    const int r = int(i / 64), c = int(i % 64);
    // Half a step, plus the fp16 scale's rounding (≤ 2⁻¹¹ of it) times up to 127 steps.
    EXPECT_NEAR(q.scale(r, c / 32) * q.quant(r, c), w[i], q.scale(r, c / 32) * (0.5 + 127.0 / 2048) + 1e-7);
  }
  std::vector<float> x(64), y(4), ref(4, 0.f);
  for (auto& v : x) v = float(rng.uniform());
  tensor::q8_matmul(y.data(), x.data(), q, 1);
  for (int o = 0; o < 4; ++o)
    for (int j = 0; j < 64; ++j) ref[size_t(o)] += q.scale(o, j / 32) * q.quant(o, j) * x[size_t(j)];
  // The activations are quantised to int8 blocks too: about 0.5% error a product.
  for (int o = 0; o < 4; ++o) EXPECT_NEAR(y[size_t(o)], ref[size_t(o)], 0.01 * std::abs(ref[size_t(o)]) + 1e-3);
  // One group of 8 rows (4 of them padding): a 64-byte line of fp16 scales (8 rows × 2
  // blocks), then the quants, 8 rows × 64.
  EXPECT_EQ(q.bytes(), 64 + 8 * 64);
  // A row length that is no multiple of 32: the last block is partial.
  std::vector<float> w2(3 * 40);
  for (auto& v : w2) v = float(rng.uniform() - 0.5);
  auto q2 = tensor::quantize_q8(w2.data(), 3, 40);
  std::vector<float> x2(40, 1.f), y2(3);
  tensor::q8_matmul(y2.data(), x2.data(), q2, 1);
  for (int o = 0; o < 3; ++o) {
    double want = 0;
    for (int j = 0; j < 40; ++j) want += w2[size_t(o * 40 + j)];
    EXPECT_NEAR(y2[size_t(o)], want, 0.05);
  }
}

// A model trained a little on stories: q8's validation perplexity is within 1% of fp32's.
TEST(Q8, ValidationPerplexityWithinOnePercentOfFloat) {
  test::TempDir dir;
  const std::string shards = test::make_story_shards(dir, 600, 512);
  train::PretrainOptions o;
  o.model.dim = 64, o.model.n_layers = 2, o.model.n_heads = 4, o.model.n_kv_heads = 2, o.model.hidden_dim = 128;
  o.model.context = 64;
  o.train.batch_size = 8, o.train.max_steps = 80, o.train.warmup_steps = 5, o.train.lr = 3e-3;
  o.train.eval_every = 0, o.train.checkpoint_every = 0;
  o.data_dir = shards, o.out_dir = dir / "run", o.threads = 2, o.quiet = true;
  auto r = train::pretrain(o);
  auto m = model::load_model(r.model_dir);

  data::TokenShard val(data::list_shards(shards, "val").at(0));
  auto nll = [&](bool q8) {
    infer::Engine e(*m, 1, q8);
    double total = 0;
    int count = 0;
    for (size_t start = 0; start + 65 <= val.size() && count < 2000; start += 64) {
      std::vector<uint32_t> toks(64);
      for (int t = 0; t < 64; ++t) toks[size_t(t)] = val[start + size_t(t)];
      const float* logits = e.feed(std::vector<infer::Engine::Row>([&] {
        std::vector<infer::Engine::Row> rows;
        for (int t = 0; t < 64; ++t) rows.push_back({toks[size_t(t)], 0, t});
        return rows;
      }()));
      for (int t = 0; t < 64; ++t) {
        const float* z = logits + size_t(t) * 512;
        double mx = *std::max_element(z, z + 512), sum = 0;
        for (int j = 0; j < 512; ++j) sum += std::exp(double(z[j]) - mx);
        total += std::log(sum) + mx - z[val[start + size_t(t) + 1]];
        ++count;
      }
    }
    return total / count;
  };
  const double ppl32 = std::exp(nll(false)), ppl8 = std::exp(nll(true));
  EXPECT_LT(ppl32, 250.0) << "the model learned something (uniform: 512)";
  EXPECT_NEAR(ppl8 / ppl32, 1.0, 0.01) << "fp32 " << ppl32 << " q8 " << ppl8;
  RecordProperty("ppl_fp32", std::to_string(ppl32));
  RecordProperty("ppl_q8", std::to_string(ppl8));
}

// ---------------------------------------------------------------- the quantised path ran
// The perplexity test above would pass if q8 were never used (a ratio of exactly 1). These
// tests change one matrix at a time so that a difference can come only from that matrix
// going through int8, in both q8_matmul paths (one to three rows: int8 x int8 dot
// products; four or more: dequantise once and GEMM).

namespace {

// Weights no int8 block holds exactly, of the same size.
void fill_arbitrary(float* w, int64_t n, Rng& rng) {
  for (int64_t i = 0; i < n; ++i) w[i] = float((rng.uniform() * 2 - 1) * 127.0 / 2048);
}

model::ModelConfig q8_config(bool tied) {
  model::ModelConfig c;
  c.vocab_size = 96, c.dim = 64, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 128;
  c.context = 32, c.tie_embeddings = tied;
  return c;
}

// Every quantised matrix by name: q, k, v, o, gate, up, down of each layer, the output head.
std::vector<int> quantised_matrices(const model::ParamLayout& L) {
  std::vector<int> out;
  for (const auto& ly : L.layers)
    for (int i : {ly.wq, ly.wk, ly.wv, ly.wo, ly.w_gate, ly.w_up, ly.w_down}) out.push_back(i);
  out.push_back(L.output_head());
  return out;
}

const std::vector<uint32_t> kPrompt = {5, 17, 42, 3, 88, 61, 9, 30};
const uint32_t kNext = 7;  // the token decoded after the prompt

// The rows of matrix t that a test may change. All of them, but for the tied embedding
// only the rows of tokens the tests never look up: the input embeddings then stay as they
// were, so a difference in the logits can come only from the output head's product.
bool may_change_row(const model::ParamLayout& L, bool tied, int t, int64_t row) {
  if (!tied || t != L.embed) return true;
  return row != kNext && std::find(kPrompt.begin(), kPrompt.end(), uint32_t(row)) == kPrompt.end();
}

// The prompt's logits (eight rows: the multi-row path), all positions.
std::vector<float> prompt_logits(const model::Transformer<float>& m, bool q8) {
  infer::Engine e(m, 1, q8);
  std::vector<infer::Engine::Row> rows;
  for (int t = 0; t < int(kPrompt.size()); ++t) rows.push_back({kPrompt[size_t(t)], 0, t});
  const float* l = e.feed(rows);
  return std::vector<float>(l, l + kPrompt.size() * 96);
}

// The logits of one decoding step (one row: the int8 x int8 path) after the prompt.
std::vector<float> decode_logits(const model::Transformer<float>& m, bool q8) {
  infer::Engine e(m, 1, q8);
  for (int t = 0; t < int(kPrompt.size()); ++t) e.feed(&kPrompt[size_t(t)], 1, t);
  const float* l = e.feed(&kNext, 1, int(kPrompt.size()));
  return std::vector<float>(l, l + 96);
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, double(std::abs(x)));
  return m;
}

double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::abs(a[i] - b[i])));
  return m;
}

}  // namespace

// The blocks are GGUF's Q8_0, byte for byte: the scale max|w| / 127 rounded to fp16, the
// quants rounded half away from zero against the unrounded scale (ggml's
// quantize_row_q8_0_ref); q8_unpack returns them row-major, as the quantised files store them.
TEST(Q8, BlocksAreGgufQ8_0) {
  Rng rng(9);
  const int rows = 11, cols = 70;  // a partial last block, and a partial group of 8 rows
  std::vector<float> w(size_t(rows) * cols);
  for (auto& v : w) v = float(rng.uniform() * 2 - 1) * 0.05f;
  const auto q = tensor::quantize_q8(w.data(), rows, cols);
  std::vector<int8_t> quants;
  std::vector<float> scales;
  tensor::q8_unpack(q, quants, scales);
  ASSERT_EQ(quants.size(), size_t(rows) * 3 * 32);
  for (int r = 0; r < rows; ++r)
    for (int b = 0; b < 3; ++b) {
      float amax = 0;
      for (int c = b * 32; c < std::min(cols, b * 32 + 32); ++c) amax = std::max(amax, std::abs(w[size_t(r * cols + c)]));
      const float d = amax / 127.f;
      ASSERT_EQ(q.scale(r, b), tensor::f16_to_f32(tensor::f32_to_f16(d))) << r << " " << b;
      ASSERT_EQ(scales[size_t(r * 3 + b)], q.scale(r, b));
      for (int j = 0; j < 32; ++j) {
        const int c = b * 32 + j;
        const int want = c < cols ? int(std::lround(w[size_t(r * cols + c)] / d)) : 0;
        ASSERT_EQ(q.quant(r, c), want) << r << " " << c;
        ASSERT_EQ(quants[size_t(r * 96 + c)], want);
      }
    }
}

// Several rows (2, 3: int8 products; 4, 7: dequantise + GEMM) against the float product with
// the dequantised weights, and different from the product with the original weights.
TEST(Q8, MultiRowProductsUseTheInt8Weights) {
  Rng rng(5);
  const int rows = 24, cols = 96;
  std::vector<float> w(rows * cols);
  fill_arbitrary(w.data(), int64_t(w.size()), rng);
  auto q = tensor::quantize_q8(w.data(), rows, cols);
  std::vector<float> deq(w.size());
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) deq[size_t(r * cols + c)] = q.scale(r, c / 32) * q.quant(r, c);
  for (int n : {1, 2, 3, 4, 7}) {
    std::vector<float> x(size_t(n) * cols), y(size_t(n) * rows);
    for (auto& v : x) v = float(rng.uniform() * 2 - 1);
    tensor::q8_matmul(y.data(), x.data(), q, n);
    double vs_deq = 0, vs_float = 0, size = 0;
    for (int i = 0; i < n; ++i)
      for (int o = 0; o < rows; ++o) {
        double with_deq = 0, with_float = 0;
        for (int c = 0; c < cols; ++c) {
          with_deq += double(deq[size_t(o * cols + c)]) * x[size_t(i * cols + c)];
          with_float += double(w[size_t(o * cols + c)]) * x[size_t(i * cols + c)];
        }
        const double got = y[size_t(i * rows + o)];
        vs_deq = std::max(vs_deq, std::abs(got - with_deq));
        vs_float = std::max(vs_float, std::abs(got - with_float));
        size = std::max(size, std::abs(with_float));
      }
    // Four rows and more multiply the dequantised weights in float (only the sums' rounding
    // differs) or in bf16 (weights and activations rounded to 8 bits: ≤ 2⁻⁹ each). Fewer rows
    // quantise the activations to int8: about 0.5% a product.
    const double tol = n < 4 ? 1e-2 : tensor::Q8GemmScratch().bf16 ? 1e-2 : 1e-5;
    EXPECT_LT(vs_deq, tol * size) << n << " rows";
    EXPECT_GT(vs_float, 1e-5 * size) << n << " rows: the float weights were used, not the int8 ones";
    EXPECT_LT(vs_float, 2e-2 * size) << n << " rows";
  }
}

// Replacing a matrix by its own int8 rounding leaves q8's logits as they were (int8 sees
// the same blocks) while fp32's move. Of the tied embedding only the rows no test token
// looks up are rounded: the output head's product alone sees them.
void expect_rounding_leaves_q8_unchanged(bool tied, std::vector<float> (*logits)(const model::Transformer<float>&, bool)) {
  model::Transformer<float> base(q8_config(tied));
  base.init_weights(4);
  for (int64_t i = 0; i < base.num_params(); ++i) base.params()[i] *= 5;  // make attention matter
  const auto& L = base.layout();
  const auto base32 = logits(base, false), base8 = logits(base, true);
  const double scale = max_abs(base32);
  EXPECT_GT(max_diff(base32, base8), 1e-6 * scale) << "the q8 engine ran in float";
  // This 5×-scaled model amplifies rounding along the sequence: decoding's last logits
  // moved under 5% of their largest, a prompt's (weights and activations in bf16) 5.3–6.1%:
  // the bound is loose, the test is the comparison below.
  EXPECT_LT(max_diff(base32, base8), 0.1 * scale);
  for (int i : quantised_matrices(L)) {
    const auto& t = L.tensors[size_t(i)];
    model::Transformer<float> m(base.config());
    std::copy(base.params(), base.params() + base.num_params(), m.params());
    auto q = tensor::quantize_q8(m.params() + t.offset, int(t.shape[0]), int(t.shape[1]));
    for (int64_t r = 0; r < t.shape[0]; ++r)
      for (int64_t c = 0; c < t.shape[1] && may_change_row(L, tied, i, r); ++c)
        m.params()[t.offset + r * t.shape[1] + c] = q.scale(int(r), int(c / 32)) * q.quant(int(r), int(c));
    const double moved32 = max_diff(base32, logits(m, false)), moved8 = max_diff(base8, logits(m, true));
    EXPECT_GT(moved32, 1e-5 * scale) << t.name << ": its int8 rounding should move fp32's logits";
    EXPECT_LT(moved8, 0.01 * moved32) << t.name << " was not quantised (tied: " << tied << ")";
  }
}

// In prompts as in decoding, the check is that a matrix's own int8 rounding leaves q8's
// logits unchanged while fp32's move. (An exact comparison with fp32 on weights int8 holds
// exactly no longer applies anywhere: q8 engines keep a bf16 KV cache, so their prompts
// round activations even where the multi-row products run in fp32, as on AVX2 machines.)
void expect_each_matrix_quantised_in_prompts(bool tied) { expect_rounding_leaves_q8_unchanged(tied, prompt_logits); }

TEST(Q8, EveryMatrixIsQuantisedInPromptsTiedEmbeddings) { expect_each_matrix_quantised_in_prompts(true); }
TEST(Q8, EveryMatrixIsQuantisedInPromptsUntiedEmbeddings) { expect_each_matrix_quantised_in_prompts(false); }

// Decoding one row quantises the activations as well, so fp32 and q8 differ even with
// representable weights: the rounding check.
TEST(Q8, EveryMatrixIsQuantisedWhenDecodingTiedEmbeddings) { expect_rounding_leaves_q8_unchanged(true, decode_logits); }
TEST(Q8, EveryMatrixIsQuantisedWhenDecodingUntiedEmbeddings) { expect_rounding_leaves_q8_unchanged(false, decode_logits); }

// ---------------------------------------------------------------- slm quantize's folders
namespace {

// A folder with a random model (weights scaled up so that greedy text varies) and the
// tokenizer of a small story corpus. Returns the folder.
std::string random_model_folder(const test::TempDir& dir, bool tied) {
  const std::string shards = test::make_story_shards(dir, 120, 300);
  const std::string folder = dir / (tied ? "fp32_tied" : "fp32_untied");
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(shards + "/tokenizer.json", folder + "/tokenizer.json");
  model::ModelConfig c = q8_config(tied);
  c.vocab_size = 300;
  model::Transformer<float> m(c);
  m.init_weights(9);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 4;
  model::save_model_files(folder, m);
  return folder;
}

}  // namespace

// The int8 folder runs as --q8 runs the float model: the same logits, the same greedy text,
// without being asked for q8; and its weights file is about 3.6x smaller.
TEST(Q8, QuantizedFolderRunsAsQ8OnTheFloatModel) {
  for (bool tied : {true, false}) {
    test::TempDir dir;
    const std::string fp32 = random_model_folder(dir, tied), q8 = dir / "q8";
    const int64_t bytes = model::quantize_model(fp32, q8);
    const double ratio = double(std::filesystem::file_size(fp32 + "/model.safetensors")) / double(bytes);
    EXPECT_GT(ratio, 3.3) << "int8 blocks with a float scale: 4 / (1 + 4/32) = 3.56 before headers and norms";
    EXPECT_TRUE(std::filesystem::exists(q8 + "/tokenizer.json"));
    EXPECT_FALSE(std::filesystem::exists(q8 + "/model.safetensors"));

    auto f = model::load_model_and_tokenizer(fp32), q = model::load_model_and_tokenizer(q8);
    EXPECT_FALSE(model::loaded_from_q8(*f.model));
    EXPECT_TRUE(model::loaded_from_q8(*q.model));
    // One decoding row: int8 x int8 products, which float weights (even dequantised) never give.
    const auto want = decode_logits(*f.model, true), got = decode_logits(*q.model, false);
    EXPECT_LT(max_diff(want, got), 1e-5 * max_abs(want)) << "the folder did not run as --q8 does (tied " << tied << ")";
    EXPECT_GT(max_diff(decode_logits(*f.model, false), got), 1e-5 * max_abs(want)) << "tied " << tied;
    EXPECT_LT(max_diff(prompt_logits(*f.model, true), prompt_logits(*q.model, false)), 1e-5 * max_abs(want));

    infer::GenerateOptions g;
    g.max_tokens = 30, g.sampling.temperature = 0, g.stop_at_eot = false;
    g.q8 = true;
    const std::string a = infer::generate(*f.model, *f.tok, "Once upon a time", g).text;
    g.q8 = false;  // the folder needs no asking
    const std::string b = infer::generate(*q.model, *q.tok, "Once upon a time", g).text;
    EXPECT_EQ(a, b) << "tied " << tied;
    EXPECT_GT(a.size(), 10u);
  }
}

// A changed weight after loading: no longer the int8 model, so no longer run as one.
TEST(Q8, AModelChangedAfterLoadingIsNoLongerTakenForInt8) {
  test::TempDir dir;
  const std::string fp32 = random_model_folder(dir, true), q8 = dir / "q8";
  model::quantize_model(fp32, q8);
  auto q = model::load_model_and_tokenizer(q8);
  ASSERT_TRUE(model::loaded_from_q8(*q.model));
  q.model->params()[5] += 0.25f;
  EXPECT_FALSE(model::loaded_from_q8(*q.model));
}

// A damaged int8 folder is refused with the tensor named.
TEST(Q8, QuantizedFolderWithAMissingScaleIsRefused) {
  test::TempDir dir;
  const std::string fp32 = random_model_folder(dir, false), q8 = dir / "q8";
  model::quantize_model(fp32, q8);
  std::string bytes = test::slurp(q8 + "/" + model::kQ8WeightsFile);
  const auto at = bytes.find("lm_head.weight.scale");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 15] = 'x';  // "lm_head.weight.xcale"
  test::spit(q8 + "/" + model::kQ8WeightsFile, bytes);
  try {
    model::load_model_and_tokenizer(q8);
    FAIL() << "loaded a folder without lm_head.weight.scale";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lm_head.weight.scale"), std::string::npos) << e.what();
  }
}
