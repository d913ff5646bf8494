#include "slm/data/output_folder.h"

#include <filesystem>

#include "slm/util/error.h"

namespace slm::data {

namespace fs = std::filesystem;

OutputFolder::OutputFolder(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) throw Error("exists and is not a folder", dir);
    return;
  }
  fresh_.emplace(dir);
  dir_ = fresh_->path();
}

std::string OutputFolder::file(const std::string& name) const { return (fs::path(dir_) / name).string(); }

void OutputFolder::commit() {
  if (fresh_) fresh_->commit();
}

}  // namespace slm::data
