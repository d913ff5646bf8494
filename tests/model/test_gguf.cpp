#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "slm/export/gguf_writer.h"
#include "slm/export/hf_export.h"
#include "slm/model/model_files.h"
#include "slm/model/gguf.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::model;

namespace {

// A small random model folder with a real tokenizer.
std::string model_folder(const test::TempDir& dir, bool tied) {
  static test::TempDir data;
  static std::string shards = test::make_story_shards(data, 60, 300);
  ModelConfig c;
  c.dim = 64, c.n_layers = 2, c.n_heads = 4, c.n_kv_heads = 2, c.hidden_dim = 96, c.context = 64;
  c.vocab_size = 300, c.tie_embeddings = tied;
  Transformer<float> m(c);
  m.init_weights(4);
  std::string out = dir / (tied ? "tied" : "untied");
  std::filesystem::create_directories(out);
  save_model_files(out, m);
  std::filesystem::copy_file(shards + "/tokenizer.json", out + "/tokenizer.json");
  return out;
}

}  // namespace

TEST(Gguf, HalfPrecisionConversionRoundsToNearestEven) {
  for (float f : {0.f, 1.f, -2.5f, 65504.f, 6.1035156e-05f, 5.9604645e-08f, 0.1f, 3.14159f})
    EXPECT_EQ(f32_to_f16(f16_to_f32(f32_to_f16(f))), f32_to_f16(f)) << f;
  EXPECT_EQ(f32_to_f16(1.f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.f), 0xc000);
  EXPECT_EQ(f32_to_f16(65504.f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00) << "overflow is infinity";
  EXPECT_EQ(f16_to_f32(0x0001), 5.9604645e-08f) << "the smallest subnormal";
  EXPECT_EQ(f32_to_f16(1.f + 1.f / 2048), 0x3c00) << "a tie goes to the even mantissa";
  EXPECT_EQ(f32_to_f16(1.f + 3.f / 2048), 0x3c02);
  EXPECT_NEAR(f16_to_f32(f32_to_f16(0.1f)), 0.1f, 1e-4);
}

TEST(Gguf, RotaryPermutationMatchesLlamaCppAndInverts) {
  // convert_hf_to_gguf.py: w.reshape(n_head, 2, hd/2, cols).swapaxes(1, 2).reshape(w.shape)
  const int H = 2, hd = 4, cols = 3;
  std::vector<float> w(size_t(H * hd * cols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(i);
  auto p = w;
  permute_rotary_rows(p.data(), H, hd, cols, true);
  for (int h = 0; h < H; ++h)
    for (int j = 0; j < hd / 2; ++j)
      for (int i = 0; i < 2; ++i)
        for (int c = 0; c < cols; ++c)
          EXPECT_EQ(p[size_t(((h * hd / 2 + j) * 2 + i) * cols + c)], w[size_t(((h * 2 + i) * hd / 2 + j) * cols + c)]);
  permute_rotary_rows(p.data(), H, hd, cols, false);
  EXPECT_EQ(p, w);
}

TEST(Gguf, F32ExportReadsBackBitForBit) {
  test::TempDir dir;
  for (bool tied : {true, false}) {
    std::string folder = model_folder(dir, tied);
    std::string path = dir / (tied ? "t.gguf" : "u.gguf");
    exporter::export_gguf(folder, path, {});
    auto g = read_gguf(path);
    EXPECT_EQ(g.version, 3u);
    EXPECT_EQ(g.meta["general.architecture"], "llama");
    EXPECT_EQ(g.meta["tokenizer.ggml.pre"], "gpt-2");
    EXPECT_EQ(g.tensors.size(), tied ? 20u : 21u);
    for (const auto& t : g.tensors) EXPECT_EQ(t.offset % 32, 0u) << t.name;
    auto a = load_model_and_tokenizer(folder), b = load_model_and_tokenizer(path);
    ASSERT_EQ(a.model->num_params(), b.model->num_params());
    EXPECT_TRUE(std::equal(a.model->params(), a.model->params() + a.model->num_params(), b.model->params()));
    EXPECT_EQ(a.tok->to_json(), b.tok->to_json()) << "the vocabulary, merges and special tokens come back";
    EXPECT_EQ(b.model->config().tie_embeddings, tied);
  }
}

TEST(Gguf, F16AndQ8_0AreCloseAndSmaller) {
  test::TempDir dir;
  std::string folder = model_folder(dir, true);
  exporter::export_gguf(folder, dir / "f32.gguf", {});
  exporter::export_gguf(folder, dir / "f16.gguf", {"f16", ""});
  exporter::export_gguf(folder, dir / "q8.gguf", {"q8_0", ""});
  auto ref = load_model_and_tokenizer(folder);
  for (const char* f : {"f16.gguf", "q8.gguf"}) {
    auto m = load_model_and_tokenizer(dir / f);
    double worst = 0;
    for (int64_t i = 0; i < m.model->num_params(); ++i)
      worst = std::max(worst, double(std::fabs(m.model->params()[i] - ref.model->params()[i])));
    EXPECT_LT(worst, std::string(f) == "f16.gguf" ? 1e-4 : 2e-3) << f;
    EXPECT_GT(worst, 0) << f;
  }
  EXPECT_LT(std::filesystem::file_size(dir / "q8.gguf"), std::filesystem::file_size(dir / "f16.gguf"));
  EXPECT_LT(std::filesystem::file_size(dir / "f16.gguf"), std::filesystem::file_size(dir / "f32.gguf"));
}

TEST(Gguf, WhatSlmCannotRunIsNamed) {
  test::TempDir dir;
  test::spit(dir / "x.gguf", "GGUF");
  try {
    read_gguf(dir / "x.gguf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("ends inside"), std::string::npos) << e.message();
  }
  test::spit(dir / "y.gguf", "NOPE1234");
  EXPECT_THROW(read_gguf(dir / "y.gguf"), Error);
}

TEST(HfExport, WritesAFolderTransformersReads) {
  test::TempDir dir;
  std::string folder = model_folder(dir, true);
  exporter::export_hf(folder, dir / "hf");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                        "special_tokens_map.json", "generation_config.json"})
    EXPECT_TRUE(std::filesystem::exists(dir / ("hf/" + std::string(f)))) << f;
  auto cfg = nlohmann::json::parse(test::slurp(dir / "hf/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(cfg["eos_token_id"], 299);
  auto tc = nlohmann::json::parse(test::slurp(dir / "hf/tokenizer_config.json"));
  EXPECT_EQ(tc["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_EQ(tc["eos_token"], "<|endoftext|>");
  auto back = load_model_and_tokenizer(dir / "hf");
  auto ref = load_model_and_tokenizer(folder);
  EXPECT_TRUE(std::equal(ref.model->params(), ref.model->params() + ref.model->num_params(), back.model->params()));
}
