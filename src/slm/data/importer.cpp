#include "slm/data/importer.h"

#include <algorithm>
#include <filesystem>
#include <unordered_set>

#include <fmt/format.h>

#include "slm/util/output_folder.h"
#include "slm/data/sources.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/progress.h"

namespace slm::data {

namespace fs = std::filesystem;

std::vector<std::string> list_corpus_files(const std::vector<std::string>& inputs, uint64_t* ignored) {
  static const std::vector<std::string> exts = {".txt", ".text", ".md", ".json", ".jsonl", ".ndjson"};
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(in)) {
        if (!e.is_regular_file()) continue;
        if (std::find(exts.begin(), exts.end(), e.path().extension().string()) != exts.end())
          found.push_back(e.path().string());
        else if (ignored)
          ++*ignored;
      }
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(in, ec)) {
      files.push_back(in);
    } else {
      throw Error("no such file or folder", in);
    }
  }
  return files;
}

ImportStats import_corpus(const ImportOptions& opt) {
  if (opt.inputs.empty()) throw Error("no input files given");
  if (opt.val_fraction < 0 || opt.val_fraction >= 1) throw Error("must be in [0, 1)", "--val-fraction");
  ImportStats st;
  auto files = list_corpus_files(opt.inputs, &st.files_ignored);
  if (files.empty()) throw Error("no corpus files found (.txt, .md, .json, .jsonl)", opt.inputs.front());
  OutputFolder out(opt.out_dir);  // a failed import leaves no new folder or file
  AtomicFile train(out.file("train.jsonl"));
  AtomicFile val(out.file("val.jsonl"));

  double total_bytes = 0;
  for (const auto& f : files) total_bytes += double(fs::file_size(f));
  Progress bar("import", total_bytes / 1e6, "MB", opt.quiet);
  double done_bytes = 0;

  // 64-bit content hashes: the chance of two different records colliding stays below
  // one in a million up to about six million records.
  std::unordered_set<uint64_t> seen;
  std::string line;
  auto on_record = [&](Record&& r, const std::string&) {
    ++st.read;
    if (!normalize(r)) {
      ++st.empty;
      return;
    }
    std::string key = r.key();
    if (!seen.insert(hash64(key)).second) {
      ++st.duplicates;
      return;
    }
    ++st.kept;
    line.clear();
    append_jsonl(r, line);
    bool is_val = held_out(key, opt.val_fraction);
    (is_val ? val : train).write(line);
    ++(is_val ? st.val : st.train);
  };
  int warned = 0;
  auto on_bad = [&](const Error& e) {
    if (!opt.skip_bad) throw Error(std::string(e.what()) + "; use --skip-bad to skip such records", e.where());
    ++st.bad;
    if (!opt.quiet && warned++ < 10) fmt::print(stderr, "slm: warning: skipped: {}\n", e.message());
  };
  SourceOptions so;
  so.paragraphs = opt.paragraphs;
  so.progress = [&](long long bytes) { bar.update((done_bytes + double(bytes)) / 1e6); };
  for (const auto& f : files) {
    read_source(f, source_format_for(f), so, on_record, on_bad);
    ++st.files;
    done_bytes += double(fs::file_size(f));
    bar.update(done_bytes / 1e6);
  }
  st.bytes_in = uint64_t(total_bytes);
  train.commit();
  val.commit();
  out.commit();
  bar.finish();
  return st;
}

}  // namespace slm::data
