// slm tokenizer ...: train a byte-level BPE vocabulary, encode, decode, inspect.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "cli/common.h"
#include "slm/data/corpus_text.h"
#include "slm/data/importer.h"
#include "slm/data/tokenizer_training.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::cli {

namespace {

void add_train(CLI::App* parent) {
  struct Args {
    Common common;
    std::vector<std::string> inputs;
    std::string out;
    tokenizer::TrainOptions opt;
    std::vector<std::string> extra;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("train", "Train a byte-level BPE tokenizer (GPT-2 style) and save tokenizer.json");
  cmd->add_option("inputs", a->inputs, "corpus files or folders (.jsonl, .json, .txt)")->required();
  cmd->add_option("--out", a->out, "output tokenizer.json (Hugging Face format)")->required();
  cmd->add_option("--vocab-size", a->opt.vocab_size, "vocabulary size: 256 bytes + merges + special tokens")
      ->capture_default_str()
      ->check(in_range(257, 10'000'000));
  cmd->add_option("--min-frequency", a->opt.min_frequency, "never merge a pair seen fewer times")
      ->capture_default_str()
      ->check(in_range(1, kMaxCount));
  cmd->add_option("--space-merges", a->opt.space_merges,
                  "share of the merges that join a space to a whole word, ranked after the others, so a word is "
                  "split the same after a space, a quote or a line start, a rarer one as a space token and its "
                  "body (0: GPT-2's BPE)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--special", a->extra, "another special token (repeatable); <|endoftext|> is always there");
  add_common(cmd, a->common);
  cmd->footer(
      "Examples:\n"
      "  slm tokenizer train data/train.jsonl --vocab-size 8192 --out tokenizer.json\n"
      "  slm tokenizer train stories.txt --vocab-size 4096 --special '<|pad|>' --out tok.json\n"
      "  slm tokenizer train data/train.jsonl --vocab-size 4096 --space-merges 0.3 --out tok.json");
  cmd->callback([a] {
    a->opt.quiet = a->common.quiet;
    for (const auto& s : a->extra) a->opt.specials.push_back(s);
    data::TokenizerTrainStats st;
    auto files = data::list_corpus_files(a->inputs);
    auto tok = data::train_tokenizer(files, a->opt, a->common.resolved_threads(), &st);
    tok.save(a->out);
    if (!a->common.quiet)
      fmt::print(stderr,
                 "vocabulary {} ({} merges, {} special) from {:.1f} MB, {} documents, {} distinct pieces; "
                 "counting {:.2f} s, merging {:.2f} s -> {}\n",
                 tok.vocab_size(), tok.merges().size(), tok.specials().size(), st.bytes / 1e6, st.documents,
                 st.unique_pieces, st.seconds_counting, st.seconds_merging, a->out);
  });
}

// Text from --text or from a file (all of it, raw bytes).
std::string input_text(const std::string& text, const std::string& file) {
  if (!file.empty()) return read_file(file);
  return text;
}

void add_encode(CLI::App* parent) {
  struct Args {
    std::string tokenizer, text, file, jsonl;
    bool no_specials = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("encode", "Print the token ids of a text (or a file)");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json")->required()->check(CLI::ExistingFile);
  auto* t = cmd->add_option("--text", a->text, "the text to encode");
  auto* f = cmd->add_option("file", a->file, "a file to encode (raw bytes)")->check(CLI::ExistingFile);
  auto* j = cmd->add_option("--jsonl", a->jsonl, "encode every record of a JSONL file; print a JSON list of ids per line")
                ->check(CLI::ExistingFile);
  t->excludes(f);
  j->excludes(t)->excludes(f);
  cmd->add_flag("--no-specials", a->no_specials, "encode special-token text as ordinary text");
  cmd->footer("Examples:\n  slm tokenizer encode --tokenizer tokenizer.json --text 'Once upon a time'\n"
              "  slm tokenizer encode --tokenizer tokenizer.json story.txt\n"
              "  slm tokenizer encode --tokenizer tokenizer.json --jsonl docs.jsonl > ids.jsonl");
  cmd->callback([a, t, f, j] {
    if (t->count() == 0 && f->count() == 0 && j->count() == 0) throw CLI::RequiredError("--text, --jsonl or a file");
    auto tok = tokenizer::Tokenizer::load(a->tokenizer);
    if (j->count()) {
      data::for_each_document({a->jsonl}, [&](std::string&& text) {
        fmt::print("[{}]\n", fmt::join(tok.encode(text, !a->no_specials), ","));
      });
      return;
    }
    auto ids = tok.encode(input_text(a->text, a->file), !a->no_specials);
    fmt::print("{}\n", fmt::join(ids, " "));
  });
}

void add_decode(CLI::App* parent) {
  struct Args {
    std::string tokenizer;
    std::vector<uint32_t> ids;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("decode", "Print the text of token ids (given, or read from stdin)");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("ids", a->ids, "token ids; without them, whitespace-separated ids are read from stdin");
  cmd->footer("Examples:\n  slm tokenizer decode --tokenizer tokenizer.json 1 2 3\n"
              "  slm tokenizer encode --tokenizer t.json --text hi | slm tokenizer decode --tokenizer t.json");
  cmd->callback([a] {
    auto tok = tokenizer::Tokenizer::load(a->tokenizer);
    std::vector<uint32_t> ids = a->ids;
    if (ids.empty()) {
      std::string word;
      long n = 0;
      while (std::cin >> word) {
        ++n;
        char* end = nullptr;
        unsigned long v = std::strtoul(word.c_str(), &end, 10);
        if (!end || *end || word.empty() || v > UINT32_MAX) throw Error("not a token id: '" + word + "'", "stdin word " + std::to_string(n));
        ids.push_back(uint32_t(v));
      }
    }
    std::string text = tok.decode(ids);
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

void add_info(CLI::App* parent) {
  struct Args {
    std::string tokenizer;
    std::vector<std::string> files;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = parent->add_subcommand("info", "Vocabulary size, special tokens, and compression on given files");
  cmd->add_option("--tokenizer", a->tokenizer, "tokenizer.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("files", a->files, "corpus files to measure compression (bytes per token) on");
  cmd->footer("Examples:\n  slm tokenizer info --tokenizer tokenizer.json data/val.jsonl");
  cmd->callback([a] {
    auto tok = tokenizer::Tokenizer::load(a->tokenizer);
    fmt::print("vocabulary size  {}\nmerges           {}\n", tok.vocab_size(), tok.merges().size());
    for (const auto& [content, id] : tok.specials()) fmt::print("special token    {} = {}\n", id, content);
    if (a->files.empty()) return;
    auto st = data::measure_compression(tok, data::list_corpus_files(a->files));
    fmt::print("text bytes       {:.0f}\ntokens           {:.0f}\nbytes per token  {:.3f}\n"
               "speed            {:.1f} MB/s (one thread, reading included)\n",
               st.bytes, st.tokens, st.bytes_per_token(), st.seconds > 0 ? st.bytes / 1e6 / st.seconds : 0.0);
  });
}

}  // namespace

void add_tokenizer_commands(CLI::App& app) {
  auto* t = app.add_subcommand("tokenizer", "Train, use and inspect byte-level BPE tokenizers (tokenizer.json)");
  t->require_subcommand(1);
  add_train(t);
  add_encode(t);
  add_decode(t);
  add_info(t);
}

}  // namespace slm::cli
