#include "slm/stories/assets.h"

#include <string>

#include "slm/util/error.h"

namespace slm::assets {

std::string_view get(std::string_view path) {
  for (const auto& a : all())
    if (a.path == path) return a.content;
  throw Error("no built-in asset with this name", std::string(path));
}

}  // namespace slm::assets
