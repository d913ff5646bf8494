#include "slm/util/reader.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "slm/util/error.h"

namespace slm {

LineReader::LineReader(const std::string& path) : path_(path), buf_(1 << 20) {
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw Error(std::string("cannot open file: ") + std::strerror(errno), path);
  std::error_code ec;
  size_ = (long long)std::filesystem::file_size(path, ec);
}

LineReader::~LineReader() {
  if (f_) std::fclose(f_);
}

bool LineReader::refill() {
  consumed_ += (long long)len_;
  pos_ = 0;
  len_ = std::fread(buf_.data(), 1, buf_.size(), f_);
  if (len_ == 0 && std::ferror(f_)) throw Error("read failed", path_);
  return len_ > 0;
}

bool LineReader::getline(std::string& out) {
  out.clear();
  bool any = false;
  for (;;) {
    if (pos_ == len_ && !refill()) return any;
    any = true;
    const char* start = buf_.data() + pos_;
    const char* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
    if (nl) {
      out.append(start, size_t(nl - start));
      pos_ += size_t(nl - start) + 1;
      ++line_;
      return true;
    }
    out.append(start, len_ - pos_);
    pos_ = len_;
  }
}

}  // namespace slm
