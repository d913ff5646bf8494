// GGUF: mutated exports (bytes, and every length, count, type, dim and offset field) are
// loaded or refused with slm::Error, never believed into a crash or a huge allocation.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "fuzz.h"
#include "slm/export/gguf_writer.h"
#include "slm/model/gguf.h"
#include "slm/model/model_files.h"
#include "slm/tokenizer/bpe_trainer.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::model;

namespace {

// A tiny random model exported as GGUF (q8_0 needs rows of 32).
std::string exported(const test::TempDir& dir, const std::string& type) {
  tokenizer::WordCounts wc;
  for (int i = 0; i < 10; ++i) wc.add_text("Once upon a time, Lily saw a big red ball. \"Can I play?\" asked Tom. ");
  tokenizer::TrainOptions to;
  to.vocab_size = 280, to.min_frequency = 1, to.quiet = true;
  const auto tok = tokenizer::train_bpe(wc, to);
  ModelConfig c;
  c.dim = 32, c.n_layers = 1, c.n_heads = 2, c.n_kv_heads = 1, c.hidden_dim = 64, c.context = 16;
  c.vocab_size = int(tok.vocab_size()), c.tie_embeddings = type == "f32";
  Transformer<float> m(c);
  m.init_weights(21);
  const std::string folder = dir / ("model-" + type);
  std::filesystem::create_directories(folder);
  save_model_files(folder, m);
  tok.save(folder + "/tokenizer.json");
  exporter::GgufExportOptions opt;
  opt.type = type;
  exporter::export_gguf(folder, dir / ("model-" + type + ".gguf"), opt);
  return test::slurp(dir / ("model-" + type + ".gguf"));
}

// The offsets of every integer field that sizes or types something: the header counts,
// string lengths, value types, array types and counts, tensor dims, types and offsets.
struct Walker {
  const std::string& f;
  size_t pos = 0;
  std::vector<fuzz::Field> fields;
  uint64_t num(size_t width, bool record = true) {
    uint64_t v = 0;
    std::memcpy(&v, f.data() + pos, width);
    if (record) fields.push_back({pos, width});
    pos += width;
    return v;
  }
  void str() { pos += num(8); }
  void value(uint32_t type) {
    static const size_t width[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == kString) return str();
    if (type != kArray) return void(pos += width[type]);
    const uint32_t et = uint32_t(num(4));
    for (uint64_t i = 0, n = num(8); i < n; ++i) value(et);
  }
  std::vector<fuzz::Field> walk() {
    num(4, false), num(4);
    const uint64_t n_tensors = num(8), n_kv = num(8);
    for (uint64_t i = 0; i < n_kv; ++i) str(), value(uint32_t(num(4)));
    for (uint64_t i = 0; i < n_tensors; ++i) {
      str();
      for (uint64_t d = 0, nd = num(4); d < nd; ++d) num(8);
      num(4), num(8);
    }
    return fields;
  }
};

void load_checked(const std::string& path) {
  // Every tensor on its own (the model loader stops at the first it does not need) ...
  const GgufFile g = read_gguf(path);
  for (const auto& t : g.tensors) {
    try {
      gguf_tensor_f32(g, t);
    } catch (const Error&) {
    }
  }
  // ... then the whole model and its tokenizer, as `slm generate model.gguf` loads them.
  load_model_and_tokenizer(path);
}

void fuzz_export(const std::string& type, uint64_t seed) {
  test::TempDir dir;
  const std::string file = exported(dir, type);
  const auto fields = Walker{file, 0, {}}.walk();
  ASSERT_GT(fields.size(), 100u);
  ASSERT_EQ(fuzz::error_of([&] { load_checked(dir / ("model-" + type + ".gguf")); }), "(no error)");
  fuzz::Mutator mut(seed);
  const int n = fuzz::inputs_per_format() / 2;
  const auto o = fuzz::run(
      dir / "t.gguf", n,
      [&](int i, std::string& what) {
        if (i < 100) return fuzz::Mutator::truncated(file, i, 100, what);
        return i % 3 ? mut.field(file, fields, what) : mut.bytes(file, what);
      },
      load_checked);
  EXPECT_GT(o.parsed, n / 50);
  EXPECT_GT(o.refused, n / 50);
  EXPECT_LT(o.seconds, 10 * fuzz::slowdown());
  EXPECT_LT(o.slowest, 1 * fuzz::slowdown());
  std::printf("gguf %s: %d loaded, %d refused, %.2f CPU s (slowest input %.3f s)\n", type.c_str(), o.parsed, o.refused,
              o.seconds, o.slowest);
}

// A GGUF built by hand: header, then the given metadata and tensor-info bytes.
struct Builder {
  std::string b;
  Builder(uint64_t n_tensors, uint64_t n_kv) { put(kGgufMagic, 4), put(3, 4), put(n_tensors, 8), put(n_kv, 8); }
  Builder& put(uint64_t v, size_t width) {
    b.append(reinterpret_cast<const char*>(&v), width);
    return *this;
  }
  Builder& str(const std::string& s) {
    put(s.size(), 8);
    b += s;
    return *this;
  }
};

std::string gguf_error(const test::TempDir& dir, const std::string& bytes, bool tensors = false) {
  test::spit(dir / "h.gguf", bytes);
  return fuzz::error_of([&] {
    const GgufFile g = read_gguf(dir / "h.gguf");
    if (tensors)
      for (const auto& t : g.tensors) gguf_tensor_f32(g, t);
  });
}

}  // namespace

TEST(FuzzGguf, MutatedF32ExportsLoadOrAreRefused) { fuzz_export("f32", 2103); }
TEST(FuzzGguf, MutatedQ8ExportsLoadOrAreRefused) { fuzz_export("q8_0", 2104); }

TEST(FuzzGguf, HandMadeBadFieldsAreNamed) {
  test::TempDir dir;
  const std::string k = "general.alignment";
  EXPECT_EQ(gguf_error(dir, Builder(0, 1).str(k).put(kU32, 4).put(64, 4).b), "(no error)");
  EXPECT_NE(gguf_error(dir, Builder(0, 1).put(uint64_t(1) << 63, 8).b).find("metadata key"), std::string::npos);
  EXPECT_NE(gguf_error(dir, Builder(0, 1).put(~uint64_t(0), 8).b).find("metadata key"), std::string::npos);
  EXPECT_NE(gguf_error(dir, Builder(0, uint64_t(1) << 60).b).find("metadata key"), std::string::npos);
  EXPECT_NE(gguf_error(dir, Builder(0, 1).str(k).put(kString, 4).str("32").b).find(k), std::string::npos);
  EXPECT_NE(gguf_error(dir, Builder(0, 1).str(k).put(kU32, 4).put(48, 4).b).find(k), std::string::npos);
  EXPECT_NE(gguf_error(dir, Builder(0, 1).str("x").put(77, 4).b).find("'x'"), std::string::npos);
  // Arrays of arrays nested deeper than any real file: refused, not recursed into.
  Builder deep(0, 1);
  deep.str("deep").put(kArray, 4);
  for (int i = 0; i < 100000; ++i) deep.put(kArray, 4).put(1, 8);
  EXPECT_NE(gguf_error(dir, deep.b).find("'deep'"), std::string::npos);
  EXPECT_NE(gguf_error(dir, Builder(0, 1).str("a").put(kArray, 4).put(kU8, 4).put(~uint64_t(0), 8).b).find("'a'"),
            std::string::npos);
  // Tensor sizes: a dims product that overflows 64 bits, and one larger than the file.
  auto tensor = [&](std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    Builder t(1, 0);
    t.str("w").put(ne.size(), 4);
    for (auto d : ne) t.put(d, 8);
    t.put(type, 4).put(offset, 8);
    t.b.resize((t.b.size() + 31) / 32 * 32 + 64, '\0');
    return gguf_error(dir, t.b, true);
  };
  EXPECT_EQ(tensor({16}, kGgmlF32, 0), "(no error)");
  EXPECT_NE(tensor({uint64_t(1) << 32, uint64_t(1) << 32}, kGgmlF32, 0).find("'w'"), std::string::npos);
  EXPECT_NE(tensor({uint64_t(1) << 62}, kGgmlF32, 0).find("'w'"), std::string::npos);
  EXPECT_NE(tensor({uint64_t(1) << 40}, kGgmlF16, 0).find("'w'"), std::string::npos);
  EXPECT_NE(tensor({16}, kGgmlF32, ~uint64_t(0) - 16).find("'w'"), std::string::npos);
  EXPECT_NE(tensor({16}, kGgmlQ8_0, 0).find("'w'"), std::string::npos);
  EXPECT_NE(tensor({16}, 99, 0).find("'w'"), std::string::npos);
}
