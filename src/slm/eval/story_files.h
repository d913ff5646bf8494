#pragma once
// Story files a user brings to `slm eval stories`: stories someone else wrote (--text),
// to score with the same metrics as a model's, and story beginnings of their own
// (--prompts) for the model to continue.
#include <string>
#include <vector>

#include "slm/eval/story_eval.h"

namespace slm::eval {

struct StoryTexts {
  std::vector<std::string> stories;
  std::string form;  // how the file was read, in words, for the user to check
};

// Stories from a file in one of three forms, told apart by the content:
// text with "<|endoftext|>" between stories; JSONL with a string "text" or "story" field
// (the first non-blank line starts with '{'); otherwise one story per non-blank line.
StoryTexts read_story_texts(const std::string& path);

// Story beginnings: JSONL {"prompt" or "beginning": ..., "words": [...], "features": [...]},
// or a YAML list of strings ("- Once upon a time ..."), chosen by extension (.yaml/.yml)
// or, failing that, by the first non-blank line ('{' for JSONL, '-' for YAML).
std::vector<StoryPrompt> read_story_prompts(const std::string& path);

// The YAML subset the beginnings use: a top-level list of scalars, one "- text" a line,
// plain, "double-quoted" (\" \\ \n escapes) or 'single-quoted' ('' for a quote); blank
// lines and # comments skipped. Anything else (maps, nesting, multi-line scalars) is an
// error naming the line, never a silent misreading. name: the file, for the errors.
std::vector<std::string> parse_yaml_string_list(const std::string& text, const std::string& name);

}  // namespace slm::eval
