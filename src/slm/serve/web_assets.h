#pragma once
// slm serve's web page (src/slm/serve/web/), compiled into the binary by
// cmake/embed_serve_assets.cmake: no build step, no CDN, nothing to install.
#include <string_view>
#include <vector>

namespace slm::serve {

struct WebAsset {
  std::string_view path;     // relative to web/, e.g. "index.html"
  std::string_view content;
};
const std::vector<WebAsset>& web_assets();

}  // namespace slm::serve
