#include "slm/data/corpus_text.h"

#include <filesystem>

#include "slm/data/sources.h"

namespace slm::data {

std::string record_text(const Record& r) {
  if (r.kind == Record::Text) return r.text;
  std::string t = r.instruction;
  if (!r.input.empty()) t += "\n\n" + r.input;
  return t + "\n\n" + r.output;
}

double total_bytes(const std::vector<std::string>& files) {
  double total = 0;
  for (const auto& f : files) total += double(std::filesystem::file_size(f));
  return total;
}

void for_each_document(const std::vector<std::string>& files, const std::function<void(std::string&&)>& fn,
                       const std::function<void(double)>& progress) {
  double before = 0;
  for (const auto& f : files) {
    SourceOptions so;
    so.allow_empty = true;  // an import can leave an empty val.jsonl
    if (progress) so.progress = [&](long long b) { progress(before + double(b)); };
    read_source(
        f, source_format_for(f), so, [&](Record&& r, const std::string&) { fn(record_text(r)); },
        [](const Error& e) { throw e; });
    before += double(std::filesystem::file_size(f));
  }
}

void for_each_document_batch(const std::vector<std::string>& files, size_t batch_bytes,
                             const std::function<void(std::vector<std::string>&)>& fn,
                             const std::function<void(double)>& progress) {
  std::vector<std::string> batch;
  size_t bytes = 0;
  for_each_document(
      files,
      [&](std::string&& text) {
        bytes += text.size();
        batch.push_back(std::move(text));
        if (bytes >= batch_bytes) {
          fn(batch);
          batch.clear();
          bytes = 0;
        }
      },
      progress);
  if (!batch.empty()) fn(batch);
}

}  // namespace slm::data
