#pragma once
// Reading corpus files record by record, streaming (a file may be far larger than
// memory): TinyStories text, JSON arrays (TinyStories shards, Alpaca), JSONL, plain text.
#include <functional>
#include <string>

#include "slm/data/record.h"
#include "slm/util/error.h"

namespace slm::data {

enum class SourceFormat {
  Text,       // documents separated by "<|endoftext|>"; without one, the file is one document
  Jsonl,      // one JSON object a line
  JsonArray,  // a JSON array of objects
};

// By extension: .jsonl/.ndjson -> Jsonl, .json -> JsonArray, anything else -> Text.
SourceFormat source_format_for(const std::string& path);

struct SourceOptions {
  bool paragraphs = false;   // Text: a blank line also ends a document
  bool allow_empty = false;  // an empty file is no error (it holds no records)
  std::function<void(long long bytes_read)> progress;  // called after each record, if set
};

using RecordFn = std::function<void(Record&& r, const std::string& where)>;
using BadFn = std::function<void(const Error& e)>;

// Calls on_record for each record (raw: not yet normalised) with its "file:line", and
// on_bad for each record that cannot be read (invalid UTF-8, malformed JSON, a missing
// field). Reading goes on after a bad record where the format allows it; on_bad may throw
// to stop. An empty file is reported to on_bad unless allowed.
void read_source(const std::string& path, SourceFormat format, const SourceOptions& opt, const RecordFn& on_record,
                 const BadFn& on_bad);

}  // namespace slm::data
