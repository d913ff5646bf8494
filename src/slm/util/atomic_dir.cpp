#include "slm/util/atomic_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "slm/util/error.h"

namespace slm {

namespace fs = std::filesystem;

AtomicDir::AtomicDir(std::string final_dir) : final_(std::move(final_dir)) {
  while (final_.size() > 1 && final_.back() == '/') final_.pop_back();
  if (final_.empty()) throw Error("an empty folder name", "--out");
  tmp_ = final_ + ".tmp-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp_, ec);
  if (!fs::create_directories(tmp_, ec) && ec) throw Error("cannot create folder: " + ec.message(), tmp_);
}

AtomicDir::~AtomicDir() {
  if (done_) return;
  std::error_code ec;
  fs::remove_all(tmp_, ec);  // nothing to report from a destructor: the error that got us here matters
}

void AtomicDir::commit() {
  int fd = ::open(tmp_.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  // The old folder steps aside first and goes only once the new one is in place.
  std::error_code ec;
  const std::string old = final_ + ".old-" + std::to_string(::getpid());
  const bool had_old = fs::exists(final_);
  if (had_old) fs::rename(final_, old, ec);
  if (!ec) fs::rename(tmp_, final_, ec);
  if (ec) throw Error("cannot move the finished folder into place: " + ec.message(), final_);
  done_ = true;
  if (had_old) fs::remove_all(old, ec);
}

}  // namespace slm
