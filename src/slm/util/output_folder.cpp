#include "slm/util/output_folder.h"

#include <filesystem>

#include "slm/util/error.h"

namespace slm {

namespace fs = std::filesystem;

OutputFolder::OutputFolder(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw Error("exists and is not a folder", dir);
    return;
  }
  // AtomicDir creates the missing parents of a new folder; remember the outermost, to
  // take it away again if the command fails.
  for (fs::path p = fs::absolute(dir, ec).parent_path(); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    new_parent_ = p.string();
    if (p == p.root_path()) break;
  }
  fresh_.emplace(dir);
  dir_ = fresh_->path();
}

OutputFolder::~OutputFolder() {
  if (committed_ || new_parent_.empty()) return;
  std::error_code ec;
  fs::remove_all(new_parent_, ec);  // it did not exist before this command
}

std::string OutputFolder::file(const std::string& name) const { return (fs::path(dir_) / name).string(); }

void OutputFolder::commit() {
  if (fresh_) fresh_->commit();
  committed_ = true;
}

}  // namespace slm
