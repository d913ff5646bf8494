#include "slm/data/pack.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/data/corpus_text.h"
#include "slm/data/importer.h"
#include "slm/data/shard.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/progress.h"

namespace slm::data {

namespace fs = std::filesystem;

namespace {

// The shards of one split, rolled over every shard_tokens tokens.
class ShardSet {
 public:
  ShardSet(std::string dir, std::string split, uint64_t shard_tokens, int width)
      : dir_(std::move(dir)), split_(std::move(split)), limit_(shard_tokens), width_(width) {}
  void append(const std::vector<uint32_t>& toks) {
    size_t done = 0;
    while (done < toks.size()) {
      if (!w_) open();
      size_t n = std::min<uint64_t>(toks.size() - done, limit_ - w_->tokens());
      w_->append(toks.data() + done, n);
      done += n;
      tokens_ += n;
      if (w_->tokens() == limit_) close();
    }
  }
  void close() {
    if (w_) w_->commit();
    w_.reset();
  }
  const std::vector<std::string>& names() const { return names_; }
  uint64_t tokens() const { return tokens_; }

 private:
  void open() {
    names_.push_back(fmt::format("{}_{:06d}.bin", split_, names_.size()));
    w_ = std::make_unique<ShardWriter>((fs::path(dir_) / names_.back()).string(), width_);
  }
  std::string dir_, split_;
  uint64_t limit_;
  int width_;
  std::unique_ptr<ShardWriter> w_;
  std::vector<std::string> names_;
  uint64_t tokens_ = 0;
};

bool is_val_file(const std::string& path) { return fs::path(path).filename().string().rfind("val", 0) == 0; }

}  // namespace

std::vector<std::string> list_shards(const std::string& dir, const std::string& split) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(split + "_", 0) == 0 && e.path().extension() == ".bin") out.push_back(e.path().string());
  }
  if (ec) throw Error("cannot read the shard folder: " + ec.message(), dir);
  std::sort(out.begin(), out.end());
  return out;
}

PackStats pack_corpus(const tokenizer::Tokenizer& tok, const PackOptions& opt) {
  auto start = std::chrono::steady_clock::now();
  if (opt.shard_tokens < 1) throw Error("must be at least 1", "--shard-tokens");
  auto files = list_corpus_files(opt.inputs);
  std::vector<std::string> train_files, val_files;
  for (const auto& f : files) (is_val_file(f) ? val_files : train_files).push_back(f);
  if (train_files.empty()) throw Error("no training files among the inputs (files named val* are validation)");
  double val_fraction = opt.val_fraction >= 0 ? opt.val_fraction : (val_files.empty() ? 0.01 : 0.0);
  if (val_fraction >= 1) throw Error("must be below 1", "--val-fraction");

  // Everything goes to a temporary folder that replaces the output only when complete.
  AtomicDir out(opt.out_dir);
  const std::string& tmp = out.path();

  const int width = ShardWriter::token_bytes_for(tok.vocab_size());
  ShardSet train(tmp, "train", opt.shard_tokens, width), val(tmp, "val", opt.shard_tokens, width);
  const uint32_t eot = tok.eot();
  PackStats st;
  const int threads = std::max(1, opt.threads);
  auto pack_files = [&](const std::vector<std::string>& inputs, bool all_val) {
    Progress bar(all_val ? "pack val" : "pack train", total_bytes(inputs) / 1e6, "MB", opt.quiet);
    std::vector<std::vector<uint32_t>> encoded;
    for_each_document_batch(
        inputs, 8u << 20,
        [&](std::vector<std::string>& docs) {
          encoded.resize(docs.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
          for (int64_t i = 0; i < int64_t(docs.size()); ++i) {
            auto& out = encoded[size_t(i)];
            out.clear();
            tok.encode(docs[size_t(i)], out, false);  // text never smuggles in special tokens
            out.push_back(eot);
          }
          for (size_t i = 0; i < docs.size(); ++i) {
            bool to_val = all_val || held_out(docs[i], val_fraction);
            (to_val ? val : train).append(encoded[i]);
            ++(to_val ? st.val_docs : st.train_docs);
          }
        },
        [&](double b) { bar.update(b / 1e6); });
    bar.finish();
  };
  pack_files(train_files, false);
  if (!val_files.empty()) pack_files(val_files, true);
  if (st.train_docs == 0) throw Error("no documents in the training files", train_files.front());
  train.close();
  val.close();
  st.train_tokens = train.tokens();
  st.val_tokens = val.tokens();
  st.train_shards = train.names();
  st.val_shards = val.names();
  st.bytes = total_bytes(files);

  nlohmann::json meta = {
      {"vocab_size", tok.vocab_size()},
      {"eot", eot},
      {"token_bytes", width},
      {"train", {{"documents", st.train_docs}, {"tokens", st.train_tokens}, {"shards", st.train_shards}}},
      {"val", {{"documents", st.val_docs}, {"tokens", st.val_tokens}, {"shards", st.val_shards}}},
      {"sources", files},
  };
  write_file_atomic((fs::path(tmp) / "meta.json").string(), meta.dump(1) + "\n");
  tok.save((fs::path(tmp) / "tokenizer.json").string());

  out.commit();
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return st;
}

}  // namespace slm::data
