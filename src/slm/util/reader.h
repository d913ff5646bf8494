#pragma once
// A buffered reader over a file that counts lines, for streaming inputs far larger than
// memory while still naming the line of an error.
#include <cstdio>
#include <string>
#include <vector>

namespace slm {

class LineReader {
 public:
  explicit LineReader(const std::string& path);  // throws slm::Error when it cannot open
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next byte, or -1 at the end.
  int get() {
    if (pos_ == len_ && !refill()) return -1;
    int c = (unsigned char)buf_[pos_++];
    if (c == '\n') ++line_;
    return c;
  }
  // The next line without its '\n'; false at the end of the file.
  bool getline(std::string& out);
  long line() const { return line_; }  // 1-based line of the next byte
  long long offset() const { return consumed_ + (long long)pos_; }
  long long size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  bool refill();
  std::string path_;
  FILE* f_ = nullptr;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  long long consumed_ = 0, size_ = 0;
  long line_ = 1;
};

}  // namespace slm
