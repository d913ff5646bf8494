#pragma once
// The text of corpus files, document by document, for the stages that read text
// (tokenizer training, packing): JSONL/JSON records and text files, as import reads them.
#include <functional>
#include <string>
#include <vector>

#include "slm/data/record.h"

namespace slm::data {

// The text a record contributes: its text, or for an instruction record its instruction,
// input and output separated by blank lines.
std::string record_text(const Record& r);

// Reads the files in order and calls fn(text) for each document. Bad records throw
// slm::Error with the file and line; empty files are skipped. bytes_done reports progress through all files.
void for_each_document(const std::vector<std::string>& files, const std::function<void(std::string&&)>& fn,
                       const std::function<void(double bytes_done)>& progress = {});

// Reads documents in batches of about batch_bytes, calling fn(batch) for each batch.
void for_each_document_batch(const std::vector<std::string>& files, size_t batch_bytes,
                             const std::function<void(std::vector<std::string>&)>& fn,
                             const std::function<void(double bytes_done)>& progress = {});

// Total size of the files, for progress bars.
double total_bytes(const std::vector<std::string>& files);

}  // namespace slm::data
