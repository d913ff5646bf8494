// tokenizer.json: mutated files load or are refused with slm::Error; an accepted one
// still round-trips text.
#include <gtest/gtest.h>

#include <stdexcept>

#include "fuzz.h"
#include "slm/tokenizer/bpe.h"
#include "slm/tokenizer/bpe_trainer.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::tokenizer;

namespace {

Tokenizer tiny_tokenizer() {
  WordCounts wc;
  for (int i = 0; i < 10; ++i) wc.add_text("Once upon a time, Lily saw a big red ball. \"Can I play?\" asked Tom. 123 ");
  TrainOptions o;
  o.vocab_size = 300;
  o.min_frequency = 1;
  o.quiet = true;
  return train_bpe(wc, o);
}

const std::string& tiny_json() {
  static const std::string text = tiny_tokenizer().to_json();
  return text;
}

// The text of tokenizer.json with one field of the tree set to raw JSON text.
std::string with(const char* pointer, const std::string& raw) {
  auto j = nlohmann::json::parse(tiny_json());
  j[nlohmann::json::json_pointer(pointer)] = "\x01";
  std::string text = j.dump();
  return text.replace(text.find("\"\\u0001\""), 8, raw);
}

std::string load_error(const test::TempDir& dir, const std::string& text) {
  test::spit(dir / "tokenizer.json", text);
  return fuzz::error_of([&] { Tokenizer::load(dir / "tokenizer.json"); });
}

}  // namespace

TEST(FuzzTokenizer, MutatedTokenizerJsonLoadsOrIsRefused) {
  test::TempDir dir;
  const std::string& text = tiny_json();
  const auto tree = nlohmann::json::parse(text);
  fuzz::Mutator mut(2101);
  const int n = fuzz::inputs_per_format();
  const auto o = fuzz::run(
      dir / "tokenizer.json", n,
      [&](int i, std::string& what) {
        if (i < 100) return fuzz::Mutator::truncated(text, i, 100, what);
        return i % 3 ? mut.json(tree, what) : mut.bytes(text, what);
      },
      [&](const std::string& path) {
        const Tokenizer tok = Tokenizer::load(path);
        const std::string sample = "Once upon a time <|endoftext|> h\xc3\xa9llo  123!";
        if (tok.decode(tok.encode(sample)) != sample) throw std::logic_error("an accepted tokenizer does not round-trip");
      });
  // Both outcomes must occur: a reader that refused everything, or nothing, is broken.
  EXPECT_GT(o.parsed, n / 50);
  EXPECT_GT(o.refused, n / 50);
  EXPECT_LT(o.seconds, 10 * fuzz::slowdown());
  EXPECT_LT(o.slowest, 1 * fuzz::slowdown());
  std::printf("tokenizer.json: %d loaded, %d refused, %.2f CPU s (slowest input %.3f s)\n", o.parsed, o.refused, o.seconds,
              o.slowest);
}

TEST(FuzzTokenizer, HandMadeBadFieldsAreNamed) {
  test::TempDir dir;
  ASSERT_EQ(load_error(dir, tiny_json()), "(no error)");
  EXPECT_NE(load_error(dir, with("/model/type", "5")).find("model.type"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/model/byte_fallback", "\"yes\"")).find("model.byte_fallback"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/pre_tokenizer", "\"ByteLevel\"")).find("pre_tokenizer"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/pre_tokenizer/use_regex", "1")).find("pre_tokenizer.use_regex"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/model/vocab/a", "9999999")).find("model.vocab"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/model/vocab/a", "1e999")).find("tokenizer.json"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/added_tokens/0/id", "9999999")).find("added_tokens[0]"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/model/merges/0", "[1, 2]")).find("model.merges[0]"), std::string::npos);
  EXPECT_NE(load_error(dir, with("/model/merges", "{}")).find("model.merges"), std::string::npos);
}
