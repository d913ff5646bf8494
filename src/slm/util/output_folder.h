#pragma once
// OutputFolder: where a command writes its folder of files (slm data import, slm data
// instruct), so that a failed command leaves nothing new behind.
// - A folder that does not exist yet is built whole beside its destination (AtomicDir)
//   and renamed into place at commit(); a failure before that removes it, and the parent
//   folders it had to create.
// - A folder that exists (it may hold the user's other files, even the inputs) is kept:
//   only the files written are replaced, each atomically (AtomicFile).
#include <optional>
#include <string>

#include "slm/util/atomic_dir.h"

namespace slm {

class OutputFolder {
 public:
  explicit OutputFolder(const std::string& dir);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;
  // Where to write the file called name: an AtomicFile or write_file_atomic on this path.
  std::string file(const std::string& name) const;
  void commit();  // after every file is committed

 private:
  std::optional<AtomicDir> fresh_;  // set when the folder is new
  std::string dir_;
  std::string new_parent_;  // the outermost parent folder created for a new folder, if any
  bool committed_ = false;
};

}  // namespace slm
