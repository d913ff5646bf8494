#include "slm/train/loss_plot.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "slm/train/metrics_file.h"
#include "slm/util/atomic_file.h"

namespace slm::train {

void write_loss_svg(const std::string& path, const std::vector<CurvePoint>& train, const std::vector<CurvePoint>& val,
                    const std::string& title) {
  write_curves_svg(path, {{"train", "#1f77b4", train, 1.2, false}, {"validation", "#d62728", val, 2.0, true}}, title);
}

void write_curves_svg(const std::string& path, const std::vector<Curve>& curves, const std::string& title) {
  const double W = 800, H = 480, left = 70, right = 20, top = 40, bottom = 50;
  double max_step = 1, lo = 1e30, hi = -1e30;
  for (const auto& c : curves)
    for (const auto& p : c.points) {
      if (!std::isfinite(p.loss) || p.loss <= 0) continue;
      max_step = std::max(max_step, p.step);
      lo = std::min(lo, p.loss);
      hi = std::max(hi, p.loss);
    }
  if (lo > hi) lo = 1, hi = 10;
  double llo = std::log(lo * 0.95), lhi = std::log(hi * 1.05);
  if (lhi - llo < 1e-6) lhi = llo + 1;
  auto X = [&](double s) { return left + s / max_step * (W - left - right); };
  auto Y = [&](double l) { return top + (lhi - std::log(l)) / (lhi - llo) * (H - top - bottom); };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
      "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"24\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
      W, H, W / 2, title);
  // Axes, with loss ticks at nice values and step ticks at fifths.
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>\n", left, top, H - bottom);
  svg += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"black\"/>\n", left, H - bottom, W - right);
  for (int i = 0; i <= 6; ++i) {
    double l = std::exp(llo + (lhi - llo) * i / 6);
    svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
                       "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:.2f}</text>\n",
                       left, Y(l), W - right, left - 6, Y(l) + 4, l);
  }
  for (int i = 0; i <= 5; ++i) {
    double s = max_step * i / 5;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.0f}</text>\n", X(s), H - bottom + 18, s);
  }
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n", (left + W - right) / 2, H - 10);
  svg += fmt::format("<text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">loss</text>\n",
                     (top + H - bottom) / 2, (top + H - bottom) / 2);
  auto polyline = [&](const std::vector<CurvePoint>& pts, const char* color, double width) {
    std::string s = fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" points=\"", color, width);
    for (const auto& p : pts)
      if (std::isfinite(p.loss) && p.loss > 0) s += fmt::format("{:.1f},{:.1f} ", X(p.step), Y(p.loss));
    return s + "\"/>\n";
  };
  for (size_t i = 0; i < curves.size(); ++i) {
    const Curve& c = curves[i];
    svg += polyline(c.points, c.color.c_str(), c.width);
    if (c.dots)
      for (const auto& p : c.points)
        if (std::isfinite(p.loss) && p.loss > 0)
          svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", X(p.step), Y(p.loss), c.color);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\" text-anchor=\"end\">{}</text>\n", W - right - 4,
                       top + 16 + 16 * double(i), c.color, c.name);
  }
  svg += "</svg>\n";
  write_file_atomic(path, svg);
}

void read_loss_curves(const std::string& metrics_path, std::vector<CurvePoint>& train, std::vector<CurvePoint>& val) {
  for_each_metrics_record(metrics_path, [&](const nlohmann::json& j) {
    if (!j.contains("step")) return;
    if (j.contains("loss")) train.push_back({j["step"].get<double>(), j["loss"].get<double>()});
    if (j.contains("val_loss")) val.push_back({j["step"].get<double>(), j["val_loss"].get<double>()});
  });
}

}  // namespace slm::train
