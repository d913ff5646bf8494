#include "slm/explain/heatmap.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

#include "slm/util/text.h"

namespace slm::explain {

std::string xml_escape(const std::string& raw) {
  // A token can be part of a character (byte-level BPE): broken sequences become U+FFFD.
  std::string s;
  for (std::string_view rest = raw; !rest.empty();) {
    const size_t at = utf8_invalid_at(rest);
    if (at == std::string_view::npos) {
      s += rest;
      break;
    }
    s += rest.substr(0, at);
    s += "\xEF\xBF\xBD";
    rest.remove_prefix(at + 1);
  }
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    }
  }
  return out;
}

namespace {

// White at 0, `color` (#rrggbb) at 1.
std::string mix(const std::string& color, double f) {
  f = std::clamp(std::isfinite(f) ? f : 0.0, 0.0, 1.0);
  auto channel = [&](int i) {
    const int c = std::stoi(color.substr(size_t(1 + 2 * i), 2), nullptr, 16);
    return int(std::lround(255 + (c - 255) * f));
  };
  return fmt::format("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2));
}

}  // namespace

std::string heatmap_svg(const HeatMap& h) {
  const int R = int(h.rows.size()), K = int(h.cols.size());
  const bool texts = !h.text.empty();
  const int cw = texts ? 64 : 44, ch = 22, left = 90, top = 40;
  size_t longest = 0;
  for (const auto& c : h.cols) longest = std::max(longest, c.size());
  const int label_h = int(std::min<size_t>(longest, 24) * 6 + 16);  // column labels, rotated
  const int width = left + K * cw + 90, height = top + R * ch + label_h + 10;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
      width, height, width, height, left, xml_escape(h.title));
  const double span = h.hi - h.lo == 0 ? 1 : h.hi - h.lo;
  for (int r = 0; r < R; ++r) {
    const int y = top + r * ch;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", left - 6, y + 15, xml_escape(h.rows[size_t(r)]));
    for (int c = 0; c < K; ++c) {
      const double v = h.values[size_t(r)][size_t(c)], f = (v - h.lo) / span;
      const std::string cell = texts ? h.text[size_t(r)][size_t(c)] : fmt::format("{:.2f}", v);
      s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" stroke=\"#ddd\"><title>{}: {} = {:.4f}</title></rect>",
                       left + c * cw, y, cw, ch, mix(h.color, f), xml_escape(h.rows[size_t(r)]),
                       xml_escape(h.cols[size_t(c)]), v);
      s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"9\" fill=\"{}\">{}</text>\n",
                       left + c * cw + cw / 2, y + 15, f > 0.6 ? "white" : "#333", xml_escape(cell.substr(0, 10)));
    }
  }
  const int ly = top + R * ch + 8;
  for (int c = 0; c < K; ++c) {
    const bool bold = std::find(h.marked_cols.begin(), h.marked_cols.end(), c) != h.marked_cols.end();
    const int x = left + c * cw + cw / 2;
    s += fmt::format("<text transform=\"translate({},{}) rotate(-45)\" text-anchor=\"end\"{}>{}</text>\n", x + 4, ly + 4,
                     bold ? " font-weight=\"bold\"" : "", xml_escape(h.cols[size_t(c)].substr(0, 24) + (bold ? "*" : "")));
  }
  // The colour bar: lo at the bottom, hi at the top.
  const int bx = left + K * cw + 20, bh = std::max(R * ch, 60);
  for (int i = 0; i < 20; ++i)
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"{:.2f}\" fill=\"{}\"/>", bx, top + bh - (i + 1) * bh / 20.0,
                     bh / 20.0 + 0.5, mix(h.color, (i + 0.5) / 20));
  s += fmt::format("\n<text x=\"{}\" y=\"{}\">{:.2f}</text><text x=\"{}\" y=\"{}\">{:.2f}</text>\n", bx + 18, top + 10, h.hi,
                   bx + 18, top + bh, h.lo);
  if (!h.legend.empty())
    s += fmt::format("<text transform=\"translate({},{}) rotate(90)\" font-size=\"10\">{}</text>\n", bx + 50, top,
                     xml_escape(h.legend));
  return s + "</svg>\n";
}

}  // namespace slm::explain
