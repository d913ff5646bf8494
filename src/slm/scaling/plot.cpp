#include "slm/scaling/plot.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace slm::scaling {

namespace {

const char* kPalette[] = {"#3b6fb6", "#e07b39", "#4c9a5f", "#b0476b", "#7b5ea7", "#8c6d31", "#17becf", "#555555"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : c == '"' ? "&quot;" : std::string(1, c);
  return o;
}

std::string tick_label(double v) {
  double a = std::abs(v);
  if (a >= 1e4 || (a > 0 && a < 1e-2)) return fmt::format("{:.2g}", v);
  return fmt::format("{:.3g}", v);
}

// An axis: data range to pixels, linear or logarithmic, and where its ticks go.
struct Axis {
  double lo, hi, p0, p1;
  bool log;
  double f(double v) const { return log ? std::log10(v) : v; }
  double px(double v) const { return p0 + (f(v) - f(lo)) / (f(hi) - f(lo)) * (p1 - p0); }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (log) {
      for (double e = std::floor(std::log10(lo)); e <= std::ceil(std::log10(hi)); e += 1)
        for (double m : {1.0, 2.0, 5.0}) {
          double v = m * std::pow(10, e);
          if (v >= lo * 0.999 && v <= hi * 1.001) t.push_back(v);
        }
      if (t.size() > 12) t.erase(std::remove_if(t.begin(), t.end(), [](double v) {
                                   return std::abs(std::log10(v) - std::round(std::log10(v))) > 1e-9;
                                 }), t.end());
      if (t.size() < 3) {  // under a decade: five ticks evenly spaced on the log scale
        t.clear();
        for (int i = 0; i <= 4; ++i) t.push_back(lo * std::pow(hi / lo, i / 4.0));
      }
    } else {
      for (int i = 0; i <= 5; ++i) t.push_back(lo + (hi - lo) * i / 5);
    }
    return t;
  }
};

}  // namespace

std::string svg_plot(const PlotSpec& spec, const std::vector<PlotSeries>& series) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (const auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y) || (spec.log_x && p.x <= 0) || (spec.log_y && p.y <= 0)) continue;
      x0 = std::min(x0, p.x), x1 = std::max(x1, p.x);
      y0 = std::min({y0, p.y, p.lo < p.hi ? p.lo : p.y}), y1 = std::max({y1, p.y, p.lo < p.hi ? p.hi : p.y});
    }
  if (!(x0 <= x1)) x0 = 1, x1 = 10, y0 = 1, y1 = 10;
  if (spec.y_min < spec.y_max) y0 = spec.y_min, y1 = spec.y_max;
  if (spec.log_y) y0 = std::max(y0, 1e-12);
  // A margin so points do not sit on the frame.
  if (spec.log_x) x0 /= 1.15, x1 *= 1.15; else { double m = (x1 - x0) * 0.05 + 1e-9; x0 -= m, x1 += m; }
  if (!(spec.y_min < spec.y_max)) {
    if (spec.log_y) y0 /= 1.03, y1 *= 1.03; else { double m = (y1 - y0) * 0.05 + 1e-9; y0 -= m, y1 += m; }
  }
  const double W = 720, H = 420, L = 70, R = 190, T = 36, B = 50;
  Axis ax{x0, x1, L, W - R, spec.log_x}, ay{y0, y1, H - B, T, spec.log_y};
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\" "
      "role=\"img\" aria-label=\"{}\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
      W, H, esc(spec.title), (L + W - R) / 2, esc(spec.title));
  for (double t : ax.ticks())
    svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>"
                       "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                       ax.px(t), T, H - B, H - B + 16, tick_label(t));
  for (double t : ay.ticks())
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#e4e4e4\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                       L, ay.px(t), W - R, L - 6, ay.px(t) + 4, tick_label(t));
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"black\"/>\n", L, T, W - R - L,
                     H - B - T);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (L + W - R) / 2, H - 12, esc(spec.xlabel));
  svg += fmt::format("<text x=\"16\" y=\"{0}\" transform=\"rotate(-90 16 {0})\" text-anchor=\"middle\">{1}</text>\n",
                     (T + H - B) / 2, esc(spec.ylabel));
  auto inside = [&](const PlotPoint& p) {
    return std::isfinite(p.x) && std::isfinite(p.y) && (!spec.log_x || p.x > 0) && (!spec.log_y || p.y > 0);
  };
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* col = kPalette[size_t(s.color) % 8];
    if (s.line) {
      std::string d;
      bool gap = true;  // a point off the chart breaks the line rather than running along the frame
      for (const auto& p : s.points) {
        if (!inside(p) || p.y < y0 || p.y > y1) {
          gap = true;
          continue;
        }
        d += fmt::format("{}{:.1f},{:.1f}", gap ? " M" : " L", ax.px(p.x), ay.px(p.y));
        gap = false;
      }
      if (!d.empty())
        svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.8\"{}/>\n", d, col,
                           s.dashed ? " stroke-dasharray=\"6,4\"" : "");
    }
    if (s.dots)
      for (const auto& p : s.points) {
        if (!inside(p) || p.y < y0 || p.y > y1) continue;
        if (p.lo < p.hi)
          svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>", ax.px(p.x),
                             ay.px(std::max(p.lo, y0)), ay.px(std::min(p.hi, y1)), col);
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3.5\" fill=\"{}\"><title>{}: ({}, {})</title></circle>\n",
                           ax.px(p.x), ay.px(p.y), col, esc(s.name), tick_label(p.x), tick_label(p.y));
      }
    const double ly = T + 12 + 18 * double(i);
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"{3}\" stroke-width=\"2\"{4}/>"
                       "<text x=\"{5}\" y=\"{6:.1f}\">{7}</text>\n",
                       W - R + 10, ly, W - R + 30, col, s.dashed ? " stroke-dasharray=\"6,4\"" : "", W - R + 35, ly + 4,
                       esc(s.name));
  }
  return svg + "</svg>\n";
}

}  // namespace slm::scaling
