#include "slm/scaling/plot_png.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "slm/scaling/child_process.h"
#include "slm/util/atomic_file.h"

namespace slm::scaling {

namespace fs = std::filesystem;

std::string svg_to_png(const std::string& svg, const std::string& converter) {
  const std::string png = fs::path(svg).replace_extension(".png").string();
  const std::string tmp = png + ".render-" + std::to_string(getpid());
  int err = 0;
  const int rc = run_child({converter, "--format", "png", "--output", tmp, svg}, err);
  std::string bytes;
  if (rc == 0 && fs::exists(tmp)) bytes = read_file(tmp);
  std::error_code ec;
  fs::remove(tmp, ec);
  if (rc < 0 && err == ENOENT)
    return converter + " was not found (install librsvg2-bin, as scripts/setup.sh does); the SVG charts are written";
  if (rc < 0) return "could not start " + converter + ": " + std::strerror(err);
  if (rc != 0) return converter + " failed on " + svg + " (exit status " + std::to_string(rc) + ")";
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0)
    return converter + " wrote no PNG for " + svg;
  write_file_atomic(png, bytes);
  return "";
}

std::string svgs_to_png(const std::vector<std::string>& files, const std::string& converter) {
  for (const auto& f : files) {
    std::string why = svg_to_png(f, converter);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace slm::scaling
