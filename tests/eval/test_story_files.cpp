// Stories and beginnings a user brings to `slm eval stories --text/--prompts`: each file
// form is told apart and read, bad lines are refused with their line number, and stories
// read from a file score exactly as the same stories do when given directly.
#include <gtest/gtest.h>

#include "slm/eval/story_files.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::eval;

namespace {

// The message of the slm::Error that fn throws ("" when it throws none).
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST(StoryFiles, EndOfTextSeparatedStories) {
  test::TempDir d;
  test::spit(d / "s.txt", "Tom ran.\nHe was fast.\n<|endoftext|>\n\nSue sang.\n<|endoftext|>\n");
  auto r = read_story_texts(d / "s.txt");
  ASSERT_EQ(r.stories.size(), 2u);
  EXPECT_EQ(r.stories[0], "Tom ran.\nHe was fast.");  // a story keeps its own line breaks
  EXPECT_EQ(r.stories[1], "Sue sang.");
  EXPECT_NE(r.form.find("<|endoftext|>"), std::string::npos);
}

TEST(StoryFiles, JsonlWithTextOrStoryField) {
  test::TempDir d;
  test::spit(d / "s.jsonl", "{\"text\": \"A dog ran.\"}\n\n{\"story\": \"The sun was hot.\", \"id\": 3}\n");
  auto r = read_story_texts(d / "s.jsonl");
  EXPECT_EQ(r.stories, (std::vector<std::string>{"A dog ran.", "The sun was hot."}));
  EXPECT_EQ(r.form, "JSONL, fields 'story' and 'text'");
  test::spit(d / "bad.jsonl", "{\"text\": \"A dog ran.\"}\n{\"title\": \"x\"}\n");
  EXPECT_EQ(error_of([&] { read_story_texts(d / "bad.jsonl"); }),
            "expected a string field 'text' or 'story' (" + d / "bad.jsonl" + ":2)");
  test::spit(d / "num.jsonl", "{\"text\": 5}\n");
  EXPECT_NE(error_of([&] { read_story_texts(d / "num.jsonl"); }).find("num.jsonl:1"), std::string::npos);
}

TEST(StoryFiles, OneStoryPerLine) {
  test::TempDir d;
  test::spit(d / "s.txt", "Tom had a ball.\r\n\n  The cat sat.  \n");
  auto r = read_story_texts(d / "s.txt");
  EXPECT_EQ(r.stories, (std::vector<std::string>{"Tom had a ball.", "The cat sat."}));
  EXPECT_EQ(r.form, "one story per line");
  test::spit(d / "empty.txt", "\n \n");
  EXPECT_EQ(error_of([&] { read_story_texts(d / "empty.txt"); }), "no stories in the file (" + d / "empty.txt" + ")");
}

TEST(StoryFiles, YamlListOfStrings) {
  auto v = parse_yaml_string_list(
      "---\n# my beginnings\n- Once upon a time, a cat sat.\n- \"Tom said: \\\"hi\\\"\"\n\n- 'It''s sunny'  # a comment\n"
      "- plain text # and a comment\n",
      "b.yaml");
  EXPECT_EQ(v, (std::vector<std::string>{"Once upon a time, a cat sat.", "Tom said: \"hi\"", "It's sunny", "plain text"}));
}

TEST(StoryFiles, YamlOutsideTheSubsetNamesTheLine) {
  EXPECT_EQ(error_of([] { parse_yaml_string_list("- ok\nkey: value\n", "b.yaml"); }),
            "expected '- text' (the file is read as a YAML list of strings, one per line) (b.yaml:2)");
  EXPECT_NE(error_of([] { parse_yaml_string_list("- Tom said: hi\n", "b.yaml"); }).find("YAML map"), std::string::npos);
  EXPECT_NE(error_of([] { parse_yaml_string_list("- a\n  - nested\n", "b.yaml"); }).find("b.yaml:2"), std::string::npos);
  EXPECT_NE(error_of([] { parse_yaml_string_list("- \"open\n", "b.yaml"); }).find("not closed"), std::string::npos);
  EXPECT_EQ(error_of([] { parse_yaml_string_list("-\n", "b.yaml"); }),
            "an empty item: write the story beginning after '- ' (b.yaml:1)");
  EXPECT_NE(error_of([] { parse_yaml_string_list("- [a, b]\n", "b.yaml"); }).find("quotes"), std::string::npos);
}

TEST(StoryFiles, PromptsFromJsonlOrYaml) {
  test::TempDir d;
  test::spit(d / "p.yml", "- Once upon a time\n- The dog\n");
  auto y = read_story_prompts(d / "p.yml");
  ASSERT_EQ(y.size(), 2u);
  EXPECT_EQ(y[1].prompt, "The dog");
  EXPECT_EQ(y[1].beginning, "The dog");
  test::spit(d / "p.jsonl", "{\"beginning\": \"Sue went\"}\n{\"prompt\": \"Words: cat\", \"words\": [\"cat\"]}\n");
  auto j = read_story_prompts(d / "p.jsonl");
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0].beginning, "Sue went");
  EXPECT_EQ(j[1].words, std::vector<std::string>{"cat"});
  EXPECT_EQ(j[1].beginning, "");  // a request, scored by its words, not continued
  test::spit(d / "p.txt", "just text\n");
  EXPECT_NE(error_of([&] { read_story_prompts(d / "p.txt"); }).find("JSONL"), std::string::npos);
  test::spit(d / "q.jsonl", "{\"prompt\": \"a\"}\n{\"words\": [\"cat\"]}\n");
  EXPECT_EQ(error_of([&] { read_story_prompts(d / "q.jsonl"); }),
            "expected a string field 'prompt' or 'beginning' (" + d / "q.jsonl" + ":2)");
  // A misspelt key is named, not ignored (the words would otherwise go unchecked).
  test::spit(d / "r.jsonl", "{\"prompt\": \"Words: cat\", \"wrods\": [\"cat\"]}\n");
  EXPECT_EQ(error_of([&] { read_story_prompts(d / "r.jsonl"); }),
            "unknown field 'wrods'; did you mean 'words'? (" + d / "r.jsonl" + ":1)");
}

TEST(StoryFiles, StoriesFromAFileScoreAsGivenDirectly) {
  test::TempDir d;
  const std::vector<std::string> stories = {"Tom had a red ball. He liked it a lot.", "The cat sat on the mat. It was the the end"};
  test::spit(d / "s.jsonl", "{\"text\": \"" + stories[0] + "\"}\n{\"text\": \"" + stories[1] + "\"}\n");
  auto from_file = score_stories({}, read_story_texts(d / "s.jsonl").stories);
  auto direct = score_stories({}, stories);
  EXPECT_EQ(from_file.metrics, direct.metrics);
  EXPECT_EQ(from_file.metrics["stories"], 2);
  EXPECT_DOUBLE_EQ(from_file.metrics["grammar.unfinished_share"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(from_file.metrics["grammar.doubled_words_per_story"].get<double>(), 0.5);
  EXPECT_FALSE(from_file.samples[0].contains("prompt"));  // nobody asked for these stories
  EXPECT_FALSE(from_file.metrics.contains("instruct.required_words"));
}
