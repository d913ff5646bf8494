#pragma once
// A read-only memory map of a whole file.
#include <cstddef>
#include <string>

namespace slm {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);  // throws slm::Error naming the file
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const unsigned char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace slm
