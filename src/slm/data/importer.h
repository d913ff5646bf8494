#pragma once
// `slm data import`: real corpora in, clean JSONL out (train.jsonl and val.jsonl).
// Every record is NFC-normalised and its whitespace cleaned, exact duplicates are
// dropped, and the validation split is chosen by a hash of the content, so the same
// record lands on the same side whatever the order or the other inputs.
#include <cstdint>
#include <string>
#include <vector>

namespace slm::data {

struct ImportOptions {
  std::vector<std::string> inputs;  // files or folders (searched recursively)
  std::string out_dir;
  double val_fraction = 0.01;
  bool skip_bad = false;    // count and skip bad records instead of stopping
  bool paragraphs = false;  // plain text: a blank line ends a document
  bool quiet = false;
};

struct ImportStats {
  uint64_t files = 0, files_ignored = 0;  // ignored: not a corpus file by its extension
  uint64_t read = 0, kept = 0, train = 0, val = 0;
  uint64_t duplicates = 0, empty = 0, bad = 0;
  uint64_t bytes_in = 0;
};

// The corpus files under the inputs, in a stable order. Folders contribute their .txt,
// .text, .md, .json, .jsonl and .ndjson files; a file named directly is always taken.
std::vector<std::string> list_corpus_files(const std::vector<std::string>& inputs, uint64_t* ignored = nullptr);

ImportStats import_corpus(const ImportOptions& opt);

}  // namespace slm::data
