#pragma once
// Writing a generated story corpus in the forms TinyStories was released in.
#include <cstdint>
#include <string>

#include "slm/stories/instruct.h"
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
// quote_words: an Instruct header writes its words in quotes (Words: "ice cream", "sled"),
// as many writing requests do.
void format_story(const Story& s, StoryFormat f, std::string& out, bool quote_words = false);

// A writing request in Alpaca's prompt template, then its story and the separator: the
// form `slm finetune` trains on, for a pre-training corpus (--requests).
void format_request(const InstructRecord& r, std::string& out);

// Whether story `index` of a corpus quotes its header words, for a share `fraction` of
// the stories: a hash of (seed, index), so the choice never depends on threads or blocks.
bool quotes_words(uint64_t seed, uint64_t index, double fraction);
// The same for the share of stories written as writing requests (an independent draw).
bool writes_request(uint64_t seed, uint64_t index, double fraction);

struct StoryCorpusOptions {
  std::string out;
  StoryFormat format = StoryFormat::Text;
  uint64_t seed = 1;
  uint64_t count = 0;        // stories to write, or
  double size_mb = 0;        // stop at the first story that brings the file to this size
  int threads = 1;
  bool quiet = false;
  // Instruct only: the share of headers that quote their words. A byte-level BPE spells
  // `"sled` with other tokens than ` sled`; a model that never saw a quoted word in a
  // header does not learn that a quoted request word is the same word. Measured at 0.5:
  // the pre-trained model learned quoted header words, the tuned one still not quoted
  // request words (docs/alignment.md, session 9).
  double quote_words = 0;
  // Instruct only: the share of stories written as an Alpaca writing request and its
  // story instead of the header (instruction pre-training). The pre-trained model uses
  // ~80% of a header's words but a fine-tuned one only ~12% of a request's: the request
  // form is otherwise seen only in the fine-tuning's few thousand examples. Measured at
  // 0.5 on the CPU recipe it did worse, not better (docs/alignment.md, session 9).
  double requests = 0;
};

struct StoryCorpusStats {
  uint64_t stories = 0, bytes = 0;
  double seconds = 0;
};

// Generates the corpus and writes it atomically (nothing is left behind on failure).
StoryCorpusStats write_story_corpus(const StoryGenerator& gen, const StoryCorpusOptions& opt);

}  // namespace slm::stories
