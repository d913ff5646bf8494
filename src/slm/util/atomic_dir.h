#pragma once
// AtomicDir: build a whole output folder beside its destination ("DIR.tmp-PID") and
// rename it into place at commit(), replacing an older DIR. Until then the destination
// is untouched; destroying an uncommitted AtomicDir removes the temporary folder, so a
// failed command leaves no new file or folder behind.
#include <string>

namespace slm {

class AtomicDir {
 public:
  explicit AtomicDir(std::string final_dir);  // creates the temporary folder (and parents)
  ~AtomicDir();
  AtomicDir(const AtomicDir&) = delete;
  AtomicDir& operator=(const AtomicDir&) = delete;

  const std::string& path() const { return tmp_; }  // where to write the files
  std::string file(const std::string& name) const { return tmp_ + "/" + name; }
  void commit();  // fsyncs the folder and renames it over final_dir

 private:
  std::string final_, tmp_;
  bool done_ = false;
};

}  // namespace slm
