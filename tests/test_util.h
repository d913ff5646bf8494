#pragma once
// Helpers shared by the tests: a temporary folder removed at the end, file I/O.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace slm::test {

class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path();
    std::random_device rd;
    path_ = base / ("slm-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string fixture(const std::string& name) { return std::string(SLM_FIXTURES) + "/" + name; }

// Generated stories, a tokenizer trained on them, and shards packed with it (10% val):
// the data the training and inference tests learn from. Returns the shard folder.
std::string make_story_shards(const TempDir& dir, uint64_t stories, size_t vocab);

}  // namespace slm::test
