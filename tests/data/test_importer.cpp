#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "slm/data/importer.h"
#include "slm/data/sources.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::data;
using test::fixture;

namespace {

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(test::slurp(path));
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

struct Imported {
  ImportStats stats;
  std::vector<nlohmann::json> all;  // train then val
};

Imported run_import(const std::vector<std::string>& inputs, const test::TempDir& dir, bool skip_bad = false,
                    double val = 0.0) {
  ImportOptions o;
  o.inputs = inputs;
  o.out_dir = dir / "out";
  o.quiet = true;
  o.skip_bad = skip_bad;
  o.val_fraction = val;
  Imported r;
  r.stats = import_corpus(o);
  r.all = read_jsonl(dir / "out/train.jsonl");
  for (auto& j : read_jsonl(dir / "out/val.jsonl")) r.all.push_back(j);
  return r;
}

// Expects import to fail with a message containing `what` at `where`, and no output.
void expect_import_error(const std::string& input, const std::string& what, const std::string& where) {
  test::TempDir dir;
  try {
    run_import({input}, dir);
    FAIL() << "no error for " << input;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.message();
    EXPECT_EQ(e.where(), where) << e.message();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "out/train.jsonl")) << "nothing half-written";
}

}  // namespace

TEST(Import, TinyStoriesTextSplitsOnEndOfTextAndDropsDuplicates) {
  test::TempDir dir;
  auto r = run_import({fixture("tinystories.txt")}, dir);
  EXPECT_EQ(r.stats.read, 4u);
  EXPECT_EQ(r.stats.duplicates, 1u);
  ASSERT_EQ(r.stats.kept, 3u);
  EXPECT_EQ(r.all[2]["text"], "Tim and Sue went to the park. They played on the swing.\n\nThen they went home.");
}

TEST(Import, TinyStoriesJsonKeepsMetadataAndNormalisesToNfc) {
  test::TempDir dir;
  auto r = run_import({fixture("tinystories_shard.json")}, dir);
  ASSERT_EQ(r.stats.kept, 3u);
  EXPECT_EQ(r.all[0]["text"], "Spot was a dog. Spot liked to run in the park.\n\nOne day, Spot saw a ball.");
  EXPECT_EQ(r.all[0]["words"], nlohmann::json({"run", "ball", "happy"}));
  EXPECT_EQ(r.all[0]["features"], nlohmann::json({"Dialogue"}));
  EXPECT_EQ(r.all[0]["summary"], "A dog named Spot finds a ball in the park.");
  // "cafe" + combining acute accent becomes the composed "café".
  EXPECT_EQ(r.all[2]["text"], "Caf\u00e9 time! Ben drank milk at the caf\u00e9.");
}

TEST(Import, AlpacaJsonKeepsInstructionInputOutput) {
  test::TempDir dir;
  auto r = run_import({fixture("alpaca.json")}, dir);
  EXPECT_EQ(r.stats.read, 3u);
  EXPECT_EQ(r.stats.duplicates, 1u);
  ASSERT_EQ(r.all.size(), 2u);
  EXPECT_EQ(r.all[1]["instruction"], "Identify the odd one out.");
  EXPECT_EQ(r.all[1]["input"], "Twitter, Instagram, Telegram");
  EXPECT_EQ(r.all[1]["output"], "Telegram");
  EXPECT_EQ(r.all[0]["input"], "");
  EXPECT_FALSE(r.all[0].contains("text"));
}

TEST(Import, JsonlWithTextFieldCleansWhitespaceAndSkipsEmptyRecords) {
  test::TempDir dir;
  auto r = run_import({fixture("texts.jsonl")}, dir);
  EXPECT_EQ(r.stats.read, 4u);
  EXPECT_EQ(r.stats.empty, 1u);
  ASSERT_EQ(r.stats.kept, 3u);
  EXPECT_EQ(r.all[2]["text"], "Birds sing in the morning.\nThe sun is up.");
}

TEST(Import, FoldersAreSearchedRecursivelyForCorpusFiles) {
  test::TempDir dir;
  auto r = run_import({fixture("folder")}, dir);
  EXPECT_EQ(r.stats.files, 2u);
  EXPECT_EQ(r.stats.files_ignored, 1u);  // image.png
  ASSERT_EQ(r.stats.kept, 2u);
  EXPECT_EQ(r.all[0]["text"], "Chapter one.\n\nThe first page of a plain book.");
  EXPECT_EQ(r.all[1]["text"], "# Notes\n\nA markdown file is plain text too.");
}

TEST(Import, ParagraphModeMakesADocumentOfEachParagraph) {
  SourceOptions so;
  so.paragraphs = true;
  std::vector<std::string> docs;
  read_source(fixture("folder/book.txt"), SourceFormat::Text, so,
              [&](Record&& r, const std::string&) { docs.push_back(r.text); }, [](const Error& e) { throw e; });
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1], "The first page of a plain book.\n");
}

TEST(Import, SplitIsByContentHashAndStable) {
  test::TempDir a, b;
  // The same records give the same split whatever else is imported beside them.
  auto r1 = run_import({fixture("tinystories.txt")}, a, false, 0.5);
  auto r2 = run_import({fixture("texts.jsonl"), fixture("tinystories.txt")}, b, false, 0.5);
  auto val1 = read_jsonl(a / "out/val.jsonl");
  auto val2 = read_jsonl(b / "out/val.jsonl");
  for (const auto& v : val1) EXPECT_NE(std::find(val2.begin(), val2.end(), v), val2.end()) << v;
  EXPECT_EQ(r1.stats.train + r1.stats.val, r1.stats.kept);
}

TEST(Import, InvalidUtf8NamesFileAndLine) {
  expect_import_error(fixture("bad_utf8.txt"), "invalid UTF-8", fixture("bad_utf8.txt") + ":3");
}

TEST(Import, MalformedJsonlNamesTheLine) {
  expect_import_error(fixture("malformed.jsonl"), "malformed JSON", fixture("malformed.jsonl") + ":3");
}

TEST(Import, MissingFieldIsNamed) {
  expect_import_error(fixture("missing_field.json"), "missing field", fixture("missing_field.json") + ":3");
}

TEST(Import, WrongTypeIsNamed) {
  expect_import_error(fixture("wrong_type.jsonl"), "field 'text' is not a string", fixture("wrong_type.jsonl") + ":1");
}

TEST(Import, TruncatedJsonIsAnError) {
  expect_import_error(fixture("truncated.json"), "unexpected end of file", fixture("truncated.json") + ":3");
}

TEST(Import, EmptyFileIsAnError) { expect_import_error(fixture("empty.txt"), "empty file", fixture("empty.txt")); }

TEST(Import, JsonThatIsNotAnArrayIsAnError) {
  expect_import_error(fixture("not_array.json"), "expected a JSON array", fixture("not_array.json") + ":1");
}

TEST(Import, SkipBadCountsAndGoesOn) {
  test::TempDir dir;
  auto r = run_import({fixture("bad_utf8.txt"), fixture("malformed.jsonl"), fixture("missing_field.json"),
                       fixture("empty.txt"), fixture("truncated.json"), fixture("texts.jsonl")},
                      dir, true);
  EXPECT_EQ(r.stats.bad, 5u);   // utf-8, jsonl line 3, missing story, empty file, truncated
  // Kept: 2 good stories, 3 good JSONL lines, {"story": "ok"}, 3 texts; the second
  // {"story": "ok"} (in truncated.json) is a duplicate.
  EXPECT_EQ(r.stats.kept, 2u + 3u + 1u + 3u);
  EXPECT_EQ(r.stats.duplicates, 1u);
}

TEST(Import, MissingInputIsNamed) {
  test::TempDir dir;
  try {
    run_import({"/no/such/file.txt"}, dir);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "/no/such/file.txt");
  }
}

TEST(Import, StreamsALargeJsonArray) {
  // 20,000 records through the streaming splitter, with braces and quotes inside strings.
  test::TempDir dir;
  std::string big = "[";
  for (int i = 0; i < 20000; ++i)
    big += std::string(i ? ",\n" : "\n") + "{\"text\": \"record " + std::to_string(i) + " has {braces} [and] \\\"quotes\\\"\"}";
  big += "\n]\n";
  test::spit(dir / "big.json", big);
  auto r = run_import({dir / "big.json"}, dir);
  EXPECT_EQ(r.stats.kept, 20000u);
  EXPECT_EQ(r.all[5]["text"], "record 5 has {braces} [and] \"quotes\"");
}
