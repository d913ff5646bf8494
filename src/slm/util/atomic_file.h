#pragma once
// AtomicFile: write a file so that readers see either the old file or the whole new one,
// never half of it. Data goes to "PATH.tmp-PID" beside the target; commit() flushes,
// fsyncs and renames it over PATH; destroying an uncommitted AtomicFile deletes the
// temporary file (an error or Ctrl-C leaves nothing behind).
#include <cstdio>
#include <string>
#include <string_view>

namespace slm {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  void write(const void* data, size_t n);
  // Overwrites bytes already written (a header whose counts are known only at the end).
  void write_at(size_t offset, const void* data, size_t n);
  void commit();
  const std::string& path() const { return path_; }
  size_t bytes_written() const { return written_; }

 private:
  std::string path_, tmp_;
  FILE* f_ = nullptr;
  size_t written_ = 0;
};

// Writes a whole file atomically.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file; throws slm::Error naming the file when it cannot.
std::string read_file(const std::string& path);

}  // namespace slm
