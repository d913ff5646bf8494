#include "slm/train/expert_load_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "slm/train/metrics_file.h"
#include "slm/util/atomic_file.h"

namespace slm::train {

namespace {

struct LoadRow {
  double step = 0;
  std::vector<std::vector<double>> share;  // [layer][expert]: share of the layer's tokens × E
};

std::vector<LoadRow> read_load(const std::string& metrics_path) {
  std::vector<LoadRow> rows;
  for_each_metrics_record(metrics_path, [&](const nlohmann::json& j) {
    if (!j.contains("expert_tokens") || !j["expert_tokens"].is_array()) return;
    LoadRow r;
    r.step = j.value("step", 0.0);
    for (const auto& layer : j["expert_tokens"]) {
      std::vector<double> s;
      double total = 0;
      for (const auto& v : layer) total += v.get<double>();
      for (const auto& v : layer) s.push_back(total > 0 ? v.get<double>() / total * double(layer.size()) : 0.0);
      r.share.push_back(std::move(s));
    }
    rows.push_back(std::move(r));
  });
  return rows;
}

// Relative load 0 (blue) .. 1 (white) .. 2 and above (red).
std::string colour(double rel) {
  const double t = std::clamp(rel, 0.0, 2.0);
  auto mix = [](double a, double b, double f) { return int(std::lround(a + (b - a) * f)); };
  if (t < 1) return fmt::format("rgb({},{},255)", mix(30, 255, t), mix(90, 255, t));
  return fmt::format("rgb(255,{},{})", mix(255, 30, t - 1), mix(255, 30, t - 1));
}

}  // namespace

bool write_expert_load_svg(const std::string& metrics_path, const std::string& svg_path, const std::string& title) {
  const auto rows = read_load(metrics_path);
  if (rows.empty()) return false;
  struct Band { size_t layer, expert; };
  std::vector<Band> bands;  // the picture's rows: every expert of every MoE layer
  for (size_t l = 0; l < rows.back().share.size(); ++l)
    for (size_t e = 0; e < rows.back().share[l].size(); ++e) bands.push_back({l, e});
  if (bands.empty()) return false;
  const double W = 800, left = 90, right = 110, top = 40, bottom = 40;
  const double cell_h = std::clamp(360.0 / double(bands.size()), 3.0, 18.0);
  const double H = top + bottom + cell_h * double(bands.size());
  const double cell_w = (W - left - right) / double(rows.size());
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{:.0f}\" font-family=\"sans-serif\" "
      "font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
      W, H, W / 2, title);
  for (size_t c = 0; c < rows.size(); ++c)
    for (size_t b = 0; b < bands.size(); ++b) {
      const auto& s = rows[c].share;
      const double rel = bands[b].layer < s.size() && bands[b].expert < s[bands[b].layer].size()
                             ? s[bands[b].layer][bands[b].expert] : 1.0;
      svg += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\"/>\n",
                         left + cell_w * double(c), top + cell_h * double(b), cell_w + 0.3, cell_h + 0.3, colour(rel));
    }
  for (size_t b = 0; b < bands.size(); ++b)  // a label at each layer's first expert
    if (bands[b].expert == 0)
      svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">layer {}</text>"
                         "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"black\"/>\n",
                         left - 6, top + cell_h * double(b) + 10, bands[b].layer, left, top + cell_h * double(b),
                         W - right, top + cell_h * double(b));
  svg += fmt::format("<text x=\"{}\" y=\"{:.0f}\">step {:.0f}</text><text x=\"{}\" y=\"{:.0f}\" text-anchor=\"end\">"
                     "step {:.0f}</text>\n", left, H - bottom + 16, rows.front().step, W - right, H - bottom + 16,
                     rows.back().step);
  const char* legend[] = {"0 (no tokens)", "0.5 x fair", "fair share", "1.5 x fair", "2 x fair or more"};
  for (int i = 0; i < 5; ++i)
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{}\" stroke=\"#888\"/>"
                       "<text x=\"{}\" y=\"{}\">{}</text>\n", W - right + 8, top + 20 * i, colour(0.5 * i),
                       W - right + 26, top + 20 * i + 11, legend[i]);
  svg += "</svg>\n";
  write_file_atomic(svg_path, svg);
  return true;
}

}  // namespace slm::train
