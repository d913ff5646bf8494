#pragma once
// The output folder of an explain command: index.html (the heat maps inline, tables, a
// short guide to reading them), each heat map as its own .svg, and the numbers as
// result.json. Written through OutputFolder: a failed command leaves nothing behind.
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "slm/explain/heatmap.h"

namespace slm::explain {

class Page {
 public:
  explicit Page(std::string title) : title_(std::move(title)) {}
  void heading(const std::string& text);
  void paragraph(const std::string& text);  // plain text (escaped)
  // A heat map inline, also written as file_name (an .svg) beside the page.
  void heatmap(const HeatMap& h, const std::string& file_name);
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // Writes dir/index.html, dir/result.json and the heat maps' SVG files.
  void write(const std::string& dir, const nlohmann::json& result) const;

 private:
  std::string title_, body_;
  std::vector<std::pair<std::string, std::string>> svgs_;  // (file name, svg)
};

}  // namespace slm::explain
