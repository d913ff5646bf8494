// slm data ...: make, import and inspect corpora.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <memory>

#include "cli/common.h"
#include "slm/stories/assets.h"
#include "slm/data/importer.h"
#include "slm/stories/instruct.h"
#include "slm/data/pack.h"
#include "slm/data/sampler.h"
#include "slm/stories/story_corpus.h"
#include "slm/util/progress.h"

namespace slm::cli {

namespace {

void add_stories(CLI::App* data) {
  struct Args {
    Common common;
    std::string out, vocab;
    uint64_t count = 0;
    double size_mb = 0;
    bool instruct = false;
    double quote_words = 0, requests = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = data->add_subcommand("stories", "Generate a TinyStories-style corpus from the built-in child vocabulary");
  cmd->add_option("--out", a->out, "output file: .txt (TinyStories text) or .jsonl (with TinyStories-Instruct metadata)")
      ->required();
  auto* count = cmd->add_option("--count", a->count, "number of stories")->check(in_range(1, kMaxCount));
  auto* size = cmd->add_option("--size", a->size_mb, "stop once the file reaches this many megabytes (10^6 bytes)")
                   ->check(in_range(0, 1e9, Ends::open_low));
  count->excludes(size);
  cmd->add_flag("--instruct", a->instruct, "write .txt in TinyStories-Instruct's form (Features:, Words:, Summary:, ...)");
  auto* quote = cmd->add_option("--quote-words", a->quote_words,
                                "with --instruct: the share of headers that quote their words "
                                "(Words: \"sled\", \"hop\"), so a model learns quoted request words too")
                   ->check(in_range(0, 1));
  quote->needs(cmd->get_option("--instruct"));
  cmd->add_option("--requests", a->requests,
                  "with --instruct: the share of stories written as an Alpaca writing request (the form slm finetune "
                  "trains on) and the story, instead of the header")
      ->check(in_range(0, 1))
      ->needs(cmd->get_option("--instruct"));
  cmd->add_option("--vocab", a->vocab, "a folder with your own vocabulary files (see docs/data.md)")
      ->check(CLI::ExistingDirectory);
  add_common(cmd, a->common);
  cmd->footer(
      "Examples:\n"
      "  slm data stories --count 1000 --out stories.txt\n"
      "  slm data stories --size 100 --seed 7 --out stories.jsonl\n"
      "  slm data stories --count 50 --instruct --out instruct.txt\n"
      "  slm data stories --size 80 --instruct --quote-words 0.5 --out instruct.txt");
  cmd->callback([a, cmd] {
    if (a->count == 0 && a->size_mb <= 0) throw CLI::RequiredError("--count or --size");
    stories::StoryGenerator gen = a->vocab.empty() ? stories::StoryGenerator()
                                                : stories::StoryGenerator(stories::Vocabulary::from_dir(a->vocab),
                                                                       assets::get("story.txt"));
    stories::StoryCorpusOptions o;
    o.out = a->out;
    o.format = a->instruct ? stories::StoryFormat::Instruct : stories::story_format_for(a->out);
    o.seed = a->common.seed;
    o.count = a->count;
    o.size_mb = a->size_mb;
    o.threads = a->common.resolved_threads();
    o.quiet = a->common.quiet;
    o.quote_words = a->quote_words;
    o.requests = a->requests;
    auto st = stories::write_story_corpus(gen, o);
    if (!a->common.quiet)
      fmt::print(stderr, "wrote {} stories, {} to {} ({:.1f} MB/min)\n", st.stories, human_bytes(double(st.bytes)),
                 a->out, double(st.bytes) / 1e6 / st.seconds * 60);
    (void)cmd;
  });
}

void add_import(CLI::App* data) {
  auto o = std::make_shared<data::ImportOptions>();
  auto c = std::make_shared<Common>();
  auto* cmd = data->add_subcommand("import", "Import real corpora into clean JSONL (train.jsonl, val.jsonl)");
  cmd->add_option("inputs", o->inputs,
                  "files or folders: TinyStories text (.txt), TinyStories JSON shards or Alpaca JSON (.json), "
                  "JSONL with a 'text' field (.jsonl), plain text (.txt, .md)")
      ->required();
  cmd->add_option("--out", o->out_dir, "output folder (gets train.jsonl and val.jsonl)")->required();
  cmd->add_option("--val-fraction", o->val_fraction, "share of records for validation, chosen by content hash")
      ->capture_default_str()
      ->check(in_range(0, 1, Ends::open_high));
  cmd->add_flag("--skip-bad", o->skip_bad, "skip and count bad records (invalid UTF-8, malformed JSON, missing fields)");
  cmd->add_flag("--paragraphs", o->paragraphs, "plain text: every blank-line-separated paragraph is a document");
  add_common(cmd, *c);
  cmd->footer(
      "Examples:\n"
      "  slm data import TinyStoriesV2-GPT4-train.txt --out data/tinystories\n"
      "  slm data import alpaca_data.json --out data/alpaca\n"
      "  slm data import my_books/ --paragraphs --skip-bad --out data/books");
  cmd->callback([o, c] {
    o->quiet = c->quiet;
    auto st = data::import_corpus(*o);
    fmt::print(stderr,
               "files {} | read {} | kept {} (train {}, val {}) | duplicates {} | skipped: empty {}, bad {}"
               "{}\n",
               st.files, st.read, st.kept, st.train, st.val, st.duplicates, st.empty, st.bad,
               st.files_ignored ? fmt::format(", {} files not a corpus format", st.files_ignored) : "");
  });
}

void add_sample(CLI::App* data) {
  struct Args {
    Common common;
    std::vector<std::string> shards;
    data::SamplerOptions opt;
    bool sequential = false;
    int batches = 1;
  };
  auto a = std::make_shared<Args>();
  a->opt.context = 8;
  a->opt.batch = 2;
  auto* cmd = data->add_subcommand("sample", "Show the (input, target) pairs the trainer will see from token shards");
  cmd->add_option("shards", a->shards, "token shards (.bin, llm.c format)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--context", a->opt.context, "context length T")->capture_default_str()->check(in_range(1, 1 << 24));
  cmd->add_option("--batch", a->opt.batch, "windows per batch")->capture_default_str()->check(in_range(1, 1 << 20));
  cmd->add_option("--stride", a->opt.stride, "tokens between window starts (default: the context length)")
      ->check(in_range(1, kMaxCount));
  cmd->add_option("--batches", a->batches, "batches to print")->capture_default_str()->check(in_range(0, 1 << 30));
  cmd->add_flag("--sequential", a->sequential, "windows in file order instead of shuffled");
  cmd->add_option("--rank", a->opt.rank, "this worker's rank (with --world)")->check(in_range(0, 1 << 20));
  cmd->add_option("--world", a->opt.world, "number of workers sharing the data")->check(in_range(1, 1 << 20));
  add_common(cmd, a->common);
  cmd->footer("Examples:\n  slm data sample data/shards/train_000.bin --context 8 --batch 2 --sequential");
  cmd->callback([a] {
    if (a->opt.rank >= a->opt.world)
      throw CLI::ValidationError("--rank", std::to_string(a->opt.rank) + " must be less than --world (" +
                                               std::to_string(a->opt.world) + ")");
    data::OpenShards shards(a->shards);
    a->opt.shuffle = !a->sequential;
    a->opt.seed = a->common.seed;
    data::BatchSampler sampler(shards.ptrs, a->opt);
    fmt::print("{} windows; worker {} of {} sees {} per epoch ({} batches of {})\n", sampler.windows(), a->opt.rank,
               a->opt.world, sampler.windows_per_epoch(), sampler.batches_per_epoch(), a->opt.batch);
    const int T = a->opt.context, B = a->opt.batch;
    std::vector<int32_t> x(size_t(B * T)), y(size_t(B * T));
    for (int k = 0; k < a->batches; ++k) {
      sampler.next(x.data(), y.data());
      for (int b = 0; b < B; ++b) {
        fmt::print("batch {} row {}\n  input  {}\n  target {}\n", k, b,
                   fmt::join(x.begin() + b * T, x.begin() + (b + 1) * T, " "),
                   fmt::join(y.begin() + b * T, y.begin() + (b + 1) * T, " "));
      }
    }
  });
}

void add_pack(CLI::App* data) {
  auto o = std::make_shared<data::PackOptions>();
  auto c = std::make_shared<Common>();
  auto tok_path = std::make_shared<std::string>();
  auto* cmd = data->add_subcommand("pack", "Encode corpora into token shards (llm.c .bin) for pre-training");
  cmd->add_option("inputs", o->inputs, "corpus files or folders (an import folder gives train.jsonl and val.jsonl)")
      ->required();
  cmd->add_option("--tokenizer", *tok_path, "tokenizer.json")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out_dir, "output folder: train_NNNNNN.bin, val_NNNNNN.bin, meta.json, tokenizer.json")
      ->required();
  cmd->add_option("--shard-tokens", o->shard_tokens, "tokens per shard")
      ->capture_default_str()
      ->check(in_range(1, 2147483647));  // the llm.c header holds the count in an int32
  cmd->add_option("--val-fraction", o->val_fraction,
                  "share of documents for validation by content hash (default: 0.01, or 0 when val* files are given)")
      ->check(in_range(0, 1, Ends::open_high));
  add_common(cmd, *c);
  cmd->footer("Examples:\n  slm data pack data/stories --tokenizer tokenizer.json --out data/shards\n"
              "  slm data pack a.jsonl b.jsonl val.jsonl --tokenizer tok.json --shard-tokens 10000000 --out shards");
  cmd->callback([o, c, tok_path] {
    o->threads = c->resolved_threads();
    o->quiet = c->quiet;
    auto tok = tokenizer::Tokenizer::load(*tok_path);
    auto st = data::pack_corpus(tok, *o);
    fmt::print(stderr, "train: {} documents, {} tokens, {} shard(s) | val: {} documents, {} tokens | {:.1f} MB/s -> {}\n",
               st.train_docs, st.train_tokens, st.train_shards.size(), st.val_docs, st.val_tokens,
               st.bytes / 1e6 / st.seconds, o->out_dir);
  });
}

}  // namespace

void add_instruct(CLI::App* data) {
  struct Args {
    Common common;
    std::string out;
    stories::InstructOptions opt;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = data->add_subcommand("instruct", "Make Alpaca-style instruction data from the story world");
  cmd->add_option("--out", a->out, "output folder: train.jsonl and heldout.jsonl")->required();
  cmd->add_option("--stories", a->opt.stories, "stories to make tasks from")->capture_default_str()->check(in_range(1, kMaxCount));
  cmd->add_option("--tasks-per-story", a->opt.tasks_per_story, "tasks drawn (by weight) from each story")
      ->capture_default_str()
      ->check(in_range(1, 1000));
  cmd->add_option("--heldout", a->opt.heldout_fraction, "share of the stories whose tasks are held out")
      ->capture_default_str()
      ->check(in_range(0, 1, Ends::open_high));
  cmd->add_option("--rouge", a->opt.rouge_threshold,
                  "drop an instruction whose ROUGE-L to one kept (with the same input) is above this")
      ->capture_default_str()
      ->check(in_range(0, 1));
  add_common(cmd, a->common);
  cmd->footer(
      "Each record: {\"instruction\", \"input\", \"output\"} as Alpaca, plus \"task\", \"answer\" (questions),\n"
      "\"words\" and \"features\" (writing tasks) and \"story\" for evaluation. Tasks: write_words,\n"
      "write_features, continue, summarize, main_character, friend, place, object, kind, yes_no,\n"
      "moral, happy_ending.\n\n"
      "Examples:\n"
      "  slm data instruct --stories 4000 --out sft\n"
      "  slm data instruct --stories 20000 --tasks-per-story 3 --heldout 0.02 --seed 7 --out sft");
  cmd->callback([a] {
    a->opt.seed = a->common.seed;
    stories::StoryGenerator gen;
    auto set = stories::make_instruct_set(gen, a->opt);
    auto per_task = stories::write_instruct_set(set, a->out);
    if (!a->common.quiet) {
      fmt::print(stderr, "wrote {} train and {} held-out records to {} ({} dropped as near-duplicates, ROUGE-L > {})\n",
                 set.train.size(), set.heldout.size(), a->out, set.dropped_similar, a->opt.rouge_threshold);
      for (const auto& [task, c] : per_task) fmt::print(stderr, "  {:<16} {:>7} train {:>6} held out\n", task, c.first, c.second);
    }
  });
}

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Make, import and sample corpora");
  data->require_subcommand(1);
  add_stories(data);
  add_import(data);
  add_sample(data);
  add_pack(data);
  add_instruct(data);
}

}  // namespace slm::cli
