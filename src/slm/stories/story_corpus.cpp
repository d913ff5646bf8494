#include "slm/stories/story_corpus.h"

#include <omp.h>

#include <chrono>
#include <utility>
#include <vector>

#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"
#include "slm/util/hash.h"
#include "slm/util/text.h"

namespace slm::stories {

StoryFormat story_format_for(const std::string& path) {
  auto ends = [&](std::string_view e) { return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0; };
  return ends(".jsonl") ? StoryFormat::Jsonl : StoryFormat::Text;
}

// The project's hashed split (util/hash.h), each choice under its own salt, and neither
// the salt slm data instruct draws its held-out stories with (seed * 31 + 7).
bool quotes_words(uint64_t seed, uint64_t index, double fraction) {
  return held_out(std::to_string(index), fraction, seed * 31 + 1);
}

bool writes_request(uint64_t seed, uint64_t index, double fraction) {
  return held_out(std::to_string(index), fraction, seed * 31 + 2);
}

void format_request(const InstructRecord& r, std::string& out) {
  out += tokenizer::alpaca_prompt(r.instruction, r.input);
  out += r.output;
  out += "\n<|endoftext|>\n";
}

void format_story(const Story& s, StoryFormat f, std::string& out, bool quote_words) {
  const auto& p = s.plan;
  switch (f) {
    case StoryFormat::Text:
      out += s.text;
      out += "\n<|endoftext|>\n";
      break;
    case StoryFormat::Instruct: {
      out += "Features: ";
      for (size_t i = 0; i < p.features.size(); ++i) out += std::string(i ? ", " : "") + feature_name(p.features[i]);
      out += "\nWords: ";
      for (size_t i = 0; i < s.words.size(); ++i) {
        out += i ? ", " : "";
        out += quote_words ? '"' + s.words[i] + '"' : s.words[i];
      }
      out += "\nSummary: " + s.summary;
      out += "\nRandom sentence: " + s.sentence;
      out += "\nStory: \n\n" + s.text + "\n<|endoftext|>\n";
      break;
    }
    case StoryFormat::Jsonl: {
      out += "{\"story\":";
      append_json_string(out, s.text);
      out += ",\"instruction\":{\"prompt\":";
      append_json_string(out, s.prompt);
      out += ",\"words\":[";
      for (size_t i = 0; i < s.words.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, s.words[i]);
      }
      out += "],\"features\":[";
      for (size_t i = 0; i < p.features.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, feature_name(p.features[i]));
      }
      out += "]},\"summary\":";
      append_json_string(out, s.summary);
      out += ",\"random_sentence\":";
      append_json_string(out, s.sentence);
      out += ",\"source\":\"slm-stories\"}\n";
      break;
    }
  }
}

StoryCorpusStats write_story_corpus(const StoryGenerator& gen, const StoryCorpusOptions& opt) {
  if (opt.count == 0 && opt.size_mb <= 0) throw Error("give --count N or --size MB", "--count");
  const double target_bytes = opt.size_mb * 1e6;
  auto start = std::chrono::steady_clock::now();
  AtomicFile file(opt.out);
  Progress bar("stories", opt.count ? double(opt.count) : opt.size_mb, opt.count ? "stories" : "MB", opt.quiet);

  // Stories are numbered, and story i depends only on (seed, i): threads make a block of
  // them in parallel, then the block is written in order, so output never depends on
  // the thread count.
  const int threads = std::max(1, opt.threads);
  const uint64_t block = 512 * uint64_t(threads);
  std::vector<std::string> texts(block);
  StoryCorpusStats st;
  bool done = false;
  for (uint64_t first = 0; !done; first += block) {
    uint64_t n = opt.count ? std::min<uint64_t>(block, opt.count - first) : block;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (int64_t i = 0; i < int64_t(n); ++i) {
      texts[i].clear();
      const uint64_t index = first + uint64_t(i);
      Story s = gen.generate(opt.seed, index);
      if (opt.format == StoryFormat::Instruct && writes_request(opt.seed, index, opt.requests))
        format_request(writing_request(gen, std::move(s), opt.seed, index), texts[i]);
      else
        format_story(s, opt.format, texts[i], quotes_words(opt.seed, index, opt.quote_words));
    }
    for (uint64_t i = 0; i < n && !done; ++i) {
      file.write(texts[i]);
      st.bytes += texts[i].size();
      ++st.stories;
      done = opt.count ? st.stories == opt.count : double(st.bytes) >= target_bytes;
    }
    bar.update(opt.count ? double(st.stories) : double(st.bytes) / 1e6);
  }
  file.commit();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  bar.finish(human_bytes(double(st.bytes)));
  return st;
}

}  // namespace slm::stories
