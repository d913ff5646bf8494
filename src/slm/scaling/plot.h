#pragma once
// The sweep's charts as self-contained SVG: points with optional error bars and lines on
// linear or logarithmic axes (scaling laws are straight lines on log-log axes, which the
// training loss curve's chart, linear in steps, does not draw).
#include <string>
#include <vector>

namespace slm::scaling {

struct PlotPoint {
  double x = 0, y = 0;
  double lo = 0, hi = 0;  // an error bar when lo < hi
};

struct PlotSeries {
  std::string name;
  int color = 0;  // an index into the palette
  std::vector<PlotPoint> points;
  bool line = true, dots = true, dashed = false;
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  bool log_x = false, log_y = false;
  double y_min = 0, y_max = 0;  // fixed when y_min < y_max, else from the data
};

std::string svg_plot(const PlotSpec& spec, const std::vector<PlotSeries>& series);

}  // namespace slm::scaling
