#include "slm/util/process_memory.h"

#include <unistd.h>

#include <fstream>

namespace slm {

int64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;  // in pages
  if (!(statm >> size >> resident)) return 0;
  return resident * int64_t(sysconf(_SC_PAGESIZE));
}

}  // namespace slm
