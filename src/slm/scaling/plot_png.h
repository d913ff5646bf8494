#pragma once
// PNG copies of the sweep's SVG charts, drawn by a real SVG renderer rather than one of
// our own: librsvg's rsvg-convert (Debian's librsvg2-bin; scripts/setup.sh installs it),
// run as a child process with no shell. The PNG has the SVG's size in pixels (96 dpi,
// SVG user units are pixels) and is written atomically; when the converter is missing or
// fails, the SVG stays as it is and the caller gets the reason to print.
#include <string>
#include <vector>

namespace slm::scaling {

// Writes PNG next to svg (same name, .png); "" on success, else why not.
std::string svg_to_png(const std::string& svg, const std::string& converter = "rsvg-convert");

// Every SVG of files; "" when all are converted, else the first reason (the rest are not tried).
std::string svgs_to_png(const std::vector<std::string>& files, const std::string& converter = "rsvg-convert");

}  // namespace slm::scaling
