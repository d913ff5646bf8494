#pragma once
// The project's built-in data files (child vocabulary, story grammar), compiled into the
// library by cmake/embed_assets.cmake from src/slm/stories/assets/.
#include <string_view>
#include <vector>

namespace slm::assets {

struct Asset {
  std::string_view path;     // relative to src/slm/stories/assets, e.g. "vocab/animals.txt"
  std::string_view content;
};

const std::vector<Asset>& all();

// The content of one asset; throws slm::Error when no asset has that path.
std::string_view get(std::string_view path);

}  // namespace slm::assets
