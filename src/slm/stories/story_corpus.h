#pragma once
// Writing a generated story corpus in the forms TinyStories was released in.
#include <cstdint>
#include <string>

#include "slm/stories/story.h"

namespace slm::stories {

enum class StoryFormat {
  Text,      // TinyStories text: stories separated by "<|endoftext|>" lines (.txt)
  Jsonl,     // one TinyStories JSON record a line: story, instruction, summary ... (.jsonl)
  Instruct,  // TinyStories-Instruct text: Features/Words/Summary/Random sentence/Story
};

// The form for a file name: .jsonl -> Jsonl, else Text (Instruct is asked for by name).
StoryFormat story_format_for(const std::string& path);

// One story in the given form, with its separator, ready to append to a file.
void format_story(const Story& s, StoryFormat f, std::string& out);

struct StoryCorpusOptions {
  std::string out;
  StoryFormat format = StoryFormat::Text;
  uint64_t seed = 1;
  uint64_t count = 0;        // stories to write, or
  double size_mb = 0;        // stop at the first story that brings the file to this size
  int threads = 1;
  bool quiet = false;
};

struct StoryCorpusStats {
  uint64_t stories = 0, bytes = 0;
  double seconds = 0;
};

// Generates the corpus and writes it atomically (nothing is left behind on failure).
StoryCorpusStats write_story_corpus(const StoryGenerator& gen, const StoryCorpusOptions& opt);

}  // namespace slm::stories
