// How varied the story corpus is, measured on equal bytes of story text so the figures
// compare with a sample of TinyStories (issue 22): distinct words, distinct word
// 4-grams per word, distinct sentences per sentence, and the zlib compressed/raw ratio
// (zlib's default level, as Python's zlib.compress; higher = less predictable).
// It also prints the story metrics `slm eval stories` scores a model's stories by (child
// vocabulary share, Flesch-Kincaid grade, Hunspell misspellings, pronoun errors), so the
// corpus can be held to the same bars.
// Usage: story_diversity [--bytes N] [--seed S] [--file TEXT] [--misspelled] [--print]
//   Without --file it measures `slm data stories`' stories 0, 1, 2... of the seed, taken
//   whole until N bytes of story text (default 550000); with --file it measures the first
//   N bytes of a TinyStories-style text file (stories separated by <|endoftext|> lines).
#include <zlib.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_set>

#include "slm/eval/spelling.h"
#include "slm/eval/text_metrics.h"
#include "slm/stories/story.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"

namespace {

struct Options {
  size_t bytes = 550000;
  uint64_t seed = 1;
  std::string file;
  bool show_misspelled = false;  // list the words Hunspell does not know
  bool print_sample = false;     // print the measured text, to look at what repeats
};

[[noreturn]] void usage_error(const std::string& what, const std::string& where) {
  std::fprintf(stderr, "slm: error: %s (%s)\n", what.c_str(), where.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--misspelled" || a == "--print") {
      (a == "--print" ? o.print_sample : o.show_misspelled) = true;
      continue;
    }
    if (i + 1 >= argc) usage_error("expected --bytes N, --seed S, --file TEXT, --misspelled or --print", a);
    std::string v = argv[++i];
    char* end = nullptr;
    if (a == "--file") {
      o.file = v;
    } else if (a == "--bytes" || a == "--seed") {
      unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || (a == "--bytes" && n == 0)) usage_error("expected a positive whole number", a + " " + v);
      (a == "--bytes" ? o.bytes : o.seed) = size_t(n);
    } else {
      usage_error("unknown option", a);
    }
  }
  return o;
}

// Whole stories of the generator, separated by a blank line, until `bytes`.
std::string generated_sample(const Options& o) {
  static const slm::stories::StoryGenerator gen;
  std::string out;
  for (uint64_t i = 0; out.size() < o.bytes; ++i) out += gen.generate(o.seed, i).text + "\n\n";
  return out;
}

// The first `bytes` of a text file, its <|endoftext|> separators turned into blank lines.
std::string file_sample(const Options& o) {
  std::string text = slm::read_file(o.file), out;
  const std::string sep = "<|endoftext|>";
  for (size_t at = 0; at < text.size() && out.size() < o.bytes;) {
    size_t p = text.find(sep, at);
    out += text.substr(at, p == std::string::npos ? std::string::npos : p - at);
    at = p == std::string::npos ? text.size() : p + sep.size();
  }
  if (out.size() > o.bytes) out.resize(o.bytes);
  return out;
}

// The story metrics of eval/story_eval.cpp over the sample's stories (split at blank
// lines between stories is not needed: the metrics are means over words and sentences).
void print_story_metrics(const std::string& text, bool show_misspelled) {
  static const slm::stories::Vocabulary vocab = slm::stories::Vocabulary::builtin();
  const slm::eval::ChildVocabulary child(vocab);
  const slm::eval::SpellChecker spell;
  auto sm = slm::eval::story_metrics(text, child);
  size_t misspelled = 0;
  std::map<std::string, int> flagged;
  for (const auto& w : spell.misspelled(text)) {
    std::string l = w;
    for (auto& c : l) c = char(std::tolower(static_cast<unsigned char>(c)));
    if (child.gender_of(l) >= 0) continue;  // first names are not spelling errors
    ++misspelled;
    if (show_misspelled) ++flagged[w];
  }
  std::printf("child vocabulary share:       %.3f\n", sm.child_vocab_share);
  std::printf("Flesch-Kincaid grade:         %.2f\n", sm.fk_grade);
  std::printf("Hunspell misspellings:        %zu (of %d words)%s\n", misspelled, sm.words, flagged.empty() ? "" : ":");
  for (const auto& [w, n] : flagged) std::printf("  %s %d\n", w.c_str(), n);
  std::printf("pronoun errors:               %d of %d checks\n", sm.pronoun_errors, sm.pronoun_checks);
}

double zlib_ratio(const std::string& s) {
  uLongf n = compressBound(uLong(s.size()));
  std::string z(n, '\0');
  if (compress2(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(s.data()), uLong(s.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK)
    throw slm::Error("zlib could not compress the sample");
  return double(n) / double(s.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  try {
    std::string text = o.file.empty() ? generated_sample(o) : file_sample(o);
    auto words = slm::eval::words_of(text);
    std::unordered_set<std::string> distinct(words.begin(), words.end());
    std::unordered_set<uint64_t> grams, sentences;
    for (size_t i = 0; i + 3 < words.size(); ++i)
      grams.insert(slm::hash64(words[i] + ' ' + words[i + 1] + ' ' + words[i + 2] + ' ' + words[i + 3]));
    auto sents = slm::stories::split_sentences(text);
    for (const auto& s : sents) sentences.insert(slm::hash64(s));
    double w = double(words.size());
    std::printf("sample: %zu bytes, %zu words, %zu sentences (%s)\n", text.size(), words.size(), sents.size(),
                o.file.empty() ? ("slm data stories --seed " + std::to_string(o.seed)).c_str() : o.file.c_str());
    std::printf("distinct words:               %zu\n", distinct.size());
    std::printf("distinct 4-grams per word:    %.3f\n", double(grams.size()) / w);
    std::printf("distinct sentences/sentences: %.3f (%.1f%% repeat)\n", double(sentences.size()) / double(sents.size()),
                100.0 * (1 - double(sentences.size()) / double(sents.size())));
    std::printf("zlib compressed/raw:          %.3f\n", zlib_ratio(text));
    print_story_metrics(text, o.show_misspelled);
    if (o.print_sample) std::printf("\n%s", text.c_str());
  } catch (const slm::Error& e) {
    std::fprintf(stderr, "slm: error: %s\n", e.message().c_str());
    return 1;
  }
}
