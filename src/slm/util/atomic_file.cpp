#include "slm/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "slm/util/error.h"

namespace slm {

namespace {
std::string errno_text() { return std::strerror(errno); }

// After a rename, the directory entry itself must reach the disk too.
void fsync_dir(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = path_ + ".tmp-" + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) throw Error("cannot create file: " + errno_text(), tmp_);
  std::setvbuf(f_, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t n) {
  if (n == 0) return;
  if (std::fwrite(data, 1, n, f_) != n) throw Error("write failed: " + errno_text(), tmp_);
  written_ += n;
}

void AtomicFile::write_at(size_t offset, const void* data, size_t n) {
  if (offset + n > written_) throw Error("write_at past the end of the data written", tmp_);
  if (std::fflush(f_) != 0 || ::pwrite(::fileno(f_), data, n, off_t(offset)) != ssize_t(n))
    throw Error("write failed: " + errno_text(), tmp_);
}

void AtomicFile::write(std::string_view bytes) { write(bytes.data(), bytes.size()); }

void AtomicFile::commit() {
  if (!f_) throw Error("file already committed", path_);
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0) throw Error("flush failed: " + errno_text(), tmp_);
  if (std::fclose(f_) != 0) {
    f_ = nullptr;
    std::remove(tmp_.c_str());
    throw Error("close failed: " + errno_text(), tmp_);
  }
  f_ = nullptr;
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::remove(tmp_.c_str());
    throw Error("cannot rename into place: " + errno_text(), path_);
  }
  fsync_dir(path_);
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open file: " + errno_text(), path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error("read failed", path);
  return std::move(ss).str();
}

}  // namespace slm
