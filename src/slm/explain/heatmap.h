#pragma once
// Heat maps as SVG (any browser shows them; no scripts): a grid of cells, rows and
// columns labelled (layers x tokens), white at `lo` to `color` at `hi`, a value in each
// cell, and a colour bar. The explain pages inline them and write each as its own file.
#include <string>
#include <vector>

namespace slm::explain {

struct HeatMap {
  std::string title;
  std::vector<std::string> rows, cols;      // labels: rows top to bottom, columns left to right
  std::vector<std::vector<double>> values;  // [row][column]
  std::vector<std::vector<std::string>> text;  // optional text in each cell (else the value)
  std::vector<int> marked_cols;             // columns whose label is drawn bold (the subject)
  double lo = 0, hi = 1;
  std::string color = "#6a3d9a";
  std::string legend;                       // what the colour measures
};

std::string heatmap_svg(const HeatMap& h);

// Text made safe for XML/HTML.
std::string xml_escape(const std::string& s);

}  // namespace slm::explain
