// JSONL and JSON-array records: the importer's reader (data::read_source), instruction
// records (data::read_sft_file) and the shared for_each_jsonl read every mutated file or
// refuse it with slm::Error.
#include <gtest/gtest.h>

#include <functional>

#include "fuzz.h"
#include "slm/data/sft_records.h"
#include "slm/data/sources.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "test_util.h"

using namespace slm;
using namespace slm::data;

namespace {

// What the importer reads (text, TinyStories, Alpaca) ...
const std::vector<std::string> kCorpusRecords = {
    R"({"text": "Once upon a time there was a cat."})",
    R"({"story": "Tom ran.", "summary": "A run.", "instruction": {"words": ["run", "red"], "features": ["Dialogue"]}})",
    R"({"instruction": "Say hi.", "input": "", "output": "Hi!"})",
    R"({"text": "Caf\u00e9 \ud83d\ude00 and a tab\t."})",
};
// ... and what fine-tuning reads (Alpaca, chats).
const std::vector<std::string> kSftRecords = {
    R"({"instruction": "Say hi.", "input": "", "output": "Hi!"})",
    R"({"instruction": "Add.", "input": "1 and 2", "output": "3"})",
    R"({"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there."}]})",
    R"({"messages": [{"role": "user", "content": "A?"}, {"role": "assistant", "content": "B."}, {"role": "user", "content": "C?"}, {"role": "assistant", "content": "D."}]})",
};

using Reader = std::function<void(const std::string& path, SourceFormat format)>;

// The first slm::Error of fn, kept until every reader ran; anything else escapes at once.
void keep_first(std::string& first, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (first.empty()) first = e.message();
  }
}

// The importer's reader, and for JSONL the shared for_each_jsonl.
void read_corpus(const std::string& path, SourceFormat format) {
  std::string first;
  read_source(path, format, {}, [](Record&& r, const std::string&) { normalize(r); },
              [&](const Error& e) {
                if (first.empty()) first = e.message();
              });
  if (format == SourceFormat::Jsonl)
    keep_first(first, [&] {
      for_each_jsonl(path, [](const nlohmann::json& j, const std::string& where) {
        if (j.contains("text")) string_field(j, "text", where);
      });
    });
  if (!first.empty()) throw Error(first);
}

void read_sft(const std::string& path, SourceFormat) { read_sft_file(path); }

std::string joined(const std::vector<std::string>& lines, SourceFormat format) {
  if (format == SourceFormat::Jsonl) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
  std::string out = "[\n";
  for (size_t i = 0; i < lines.size(); ++i) out += lines[i] + (i + 1 < lines.size() ? ",\n" : "\n]\n");
  return out;
}

// Mutates the whole file (bytes), or one record of it (its JSON tree or its bytes).
void fuzz_records(const std::string& name, SourceFormat format, const std::vector<std::string>& lines,
                  const Reader& read, uint64_t seed) {
  test::TempDir dir;
  const std::string file = joined(lines, format), path = dir / name;
  test::spit(path, file);
  ASSERT_EQ(fuzz::error_of([&] { read(path, format); }), "(no error)");
  fuzz::Mutator mut(seed);
  const int n = fuzz::inputs_per_format() / 2;
  const auto o = fuzz::run(
      path, n,
      [&](int i, std::string& what) {
        if (i < 100) return fuzz::Mutator::truncated(file, i, 100, what);
        if (i % 4 == 0) return mut.bytes(file, what);
        std::vector<std::string> ls = lines;
        const size_t k = mut.below(ls.size());
        ls[k] = mut.below(3) ? mut.json(nlohmann::json::parse(ls[k]), what) : mut.bytes(ls[k], what);
        what = "record " + std::to_string(k) + ": " + what;
        return joined(ls, format);
      },
      [&](const std::string& p) { read(p, format); });
  EXPECT_GT(o.parsed, n / 50);
  EXPECT_GT(o.refused, n / 50);
  EXPECT_LT(o.seconds, 10 * fuzz::slowdown());
  EXPECT_LT(o.slowest, 1 * fuzz::slowdown());
  std::printf("%s: %d read, %d refused, %.2f CPU s (slowest input %.3f s)\n", name.c_str(), o.parsed, o.refused, o.seconds,
              o.slowest);
}

std::string sft_error(const test::TempDir& dir, const std::string& line) {
  test::spit(dir / "r.jsonl", line + "\n");
  return fuzz::error_of([&] { read_sft_file(dir / "r.jsonl"); });
}

std::string import_error(const test::TempDir& dir, const std::string& line) {
  test::spit(dir / "r.jsonl", line + "\n");
  std::string first = "(no error)";
  read_source(dir / "r.jsonl", SourceFormat::Jsonl, {}, [](Record&&, const std::string&) {},
              [&](const Error& e) { first = e.message(); });
  return first;
}

}  // namespace

TEST(FuzzJsonl, MutatedCorpusJsonlIsReadOrRefused) {
  fuzz_records("corpus.jsonl", SourceFormat::Jsonl, kCorpusRecords, read_corpus, 2105);
}
TEST(FuzzJsonl, MutatedCorpusJsonArrayIsReadOrRefused) {
  fuzz_records("corpus.json", SourceFormat::JsonArray, kCorpusRecords, read_corpus, 2106);
}
TEST(FuzzJsonl, MutatedSftJsonlIsReadOrRefused) { fuzz_records("sft.jsonl", SourceFormat::Jsonl, kSftRecords, read_sft, 2107); }
TEST(FuzzJsonl, MutatedSftJsonArrayIsReadOrRefused) {
  fuzz_records("sft.json", SourceFormat::JsonArray, kSftRecords, read_sft, 2108);
}

TEST(FuzzJsonl, HandMadeBadRecordsAreNamed) {
  test::TempDir dir;
  EXPECT_EQ(sft_error(dir, kSftRecords[2]), "(no error)");
  EXPECT_NE(sft_error(dir, R"({"messages": [{"role": 5, "content": "x"}]})").find("role"), std::string::npos);
  EXPECT_NE(sft_error(dir, R"({"messages": [{"role": "user", "content": 5}]})").find("content"), std::string::npos);
  EXPECT_NE(sft_error(dir, R"({"messages": {"role": "user"}})").find("messages"), std::string::npos);
  EXPECT_NE(sft_error(dir, R"({"instruction": "x", "output": 1e999})").find("r.jsonl:1"), std::string::npos);
  EXPECT_NE(sft_error(dir, R"({"instruction": ["x"], "output": "y"})").find("instruction"), std::string::npos);
  EXPECT_EQ(import_error(dir, kCorpusRecords[1]), "(no error)");
  EXPECT_NE(import_error(dir, R"({"text": 1e999})").find("r.jsonl:1"), std::string::npos);
  EXPECT_NE(import_error(dir, R"({"text": ["a"]})").find("'text'"), std::string::npos);
  EXPECT_NE(import_error(dir, R"({"story": "a", "instruction": {"words": "run"}})").find("'words'"), std::string::npos);
  EXPECT_NE(import_error(dir, R"({"story": "a", "instruction": {"words": [1]}})").find("'words'"), std::string::npos);
}
