#pragma once
// Errors carry what went wrong and where (a file, a line, a field, an argument), so the
// CLI can print one line: "slm: error: WHAT (WHERE)" and exit 1.
#include <stdexcept>
#include <string>

namespace slm {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what, std::string where = {})
      : std::runtime_error(what), where_(std::move(where)) {}
  const std::string& where() const { return where_; }
  // "WHAT (WHERE)", or "WHAT" when there is no place to name.
  std::string message() const { return where_.empty() ? what() : std::string(what()) + " (" + where_ + ")"; }

 private:
  std::string where_;
};

// "file:line" for error locations.
inline std::string at_line(const std::string& file, long line) { return file + ":" + std::to_string(line); }

}  // namespace slm
