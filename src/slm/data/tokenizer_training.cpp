#include "slm/data/tokenizer_training.h"

#include <omp.h>

#include <chrono>

#include "slm/data/corpus_text.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::data {

namespace {

// The inputs, for an error about all of them: "a.txt", "a.txt, b.txt" or "a.txt and 4 more files".
std::string files_named(const std::vector<std::string>& files) {
  if (files.empty()) return "no input files";
  if (files.size() == 1) return files[0];
  if (files.size() == 2) return files[0] + ", " + files[1];
  return files[0] + " and " + std::to_string(files.size() - 1) + " more files";
}

}  // namespace

tokenizer::Tokenizer train_tokenizer(const std::vector<std::string>& files, const tokenizer::TrainOptions& opt,
                                     int threads, TokenizerTrainStats* stats) {
  using Clock = std::chrono::steady_clock;
  tokenizer::check_train_options(opt);
  auto t0 = Clock::now();
  threads = std::max(1, threads);
  std::vector<tokenizer::WordCounts> counts(static_cast<size_t>(threads));
  TokenizerTrainStats st;
  st.bytes = total_bytes(files);
  Progress bar("counting", st.bytes / 1e6, "MB", opt.quiet);
  for_each_document_batch(
      files, 32u << 20,
      [&](std::vector<std::string>& docs) {
        st.documents += docs.size();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 64)
        for (int64_t i = 0; i < int64_t(docs.size()); ++i)
          counts[size_t(omp_get_thread_num())].add_text(docs[size_t(i)], opt.specials);
      },
      [&](double b) { bar.update(b / 1e6); });
  bar.finish();
  for (int t = 1; t < threads; ++t) counts[0].merge_from(counts[size_t(t)]);
  st.pieces = counts[0].total();
  st.unique_pieces = counts[0].unique();
  if (st.unique_pieces == 0) throw Error("the corpus is empty: no text to learn a vocabulary from", files_named(files));
  auto t1 = Clock::now();
  auto tok = tokenizer::train_bpe(counts[0], opt);
  st.seconds_counting = std::chrono::duration<double>(t1 - t0).count();
  st.seconds_merging = std::chrono::duration<double>(Clock::now() - t1).count();
  if (stats) *stats = st;
  return tok;
}

CompressionStats measure_compression(const tokenizer::Tokenizer& tok, const std::vector<std::string>& files) {
  CompressionStats st;
  std::vector<uint32_t> ids;
  auto t0 = std::chrono::steady_clock::now();
  for_each_document(files, [&](std::string&& text) {
    ids.clear();
    tok.encode(text, ids, false);
    st.bytes += double(text.size());
    st.tokens += double(ids.size());
  });
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace slm::data
