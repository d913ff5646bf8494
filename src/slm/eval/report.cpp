#include "slm/eval/report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slm/eval/metric_labels.h"
#include "slm/train/loss_plot.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::eval {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kColors[] = {"#3b6fb6", "#e07b39", "#4c9a5f", "#b0476b"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v) { return std::abs(v) >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.3g}", v); }

struct Series {
  std::string name;
  std::vector<double> values;  // NaN: missing
};

// Horizontal bars: one group per label, one bar per series; scale to max (or the data's).
// tips: a hover text for each label (optional).
std::string bar_chart(const std::string& title, const std::vector<std::string>& labels, const std::vector<Series>& series,
                      double max_value = 0, const std::vector<std::string>& tips = {}) {
  if (labels.empty()) return "";
  double mx = max_value;
  for (const auto& s : series)
    for (double v : s.values)
      if (std::isfinite(v)) mx = std::max(mx, v);
  if (mx <= 0) mx = 1;
  const int bar_h = 14, gap = 10, left = 260, width = 420;
  const int group_h = int(series.size()) * bar_h + gap;
  const int legend_rows = series.size() > 1 ? int(series.size()) : 0;
  const int H = 40 + int(labels.size()) * group_h + 18 * legend_rows;
  std::string svg = fmt::format(R"(<svg class="chart bars" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="{}">)",
                                left + width + 80, H, esc(title));
  svg += fmt::format(R"(<text x="4" y="18" class="title">{}</text>)", esc(title));
  for (size_t i = 0; i < labels.size(); ++i) {
    int y0 = 32 + int(i) * group_h;
    svg += fmt::format(R"(<text x="{}" y="{}" text-anchor="end" class="label">{}{}</text>)", left - 8,
                       y0 + int(series.size()) * bar_h / 2 + 4, esc(labels[i]),
                       i < tips.size() ? "<title>" + esc(tips[i]) + "</title>" : "");
    for (size_t s = 0; s < series.size(); ++s) {
      double v = series[s].values[i];
      int y = y0 + int(s) * bar_h;
      if (!std::isfinite(v)) {
        svg += fmt::format(R"(<text x="{}" y="{}" class="value">n/a</text>)", left + 4, y + bar_h - 3);
        continue;
      }
      int w = std::max(1, int(std::round(width * std::max(0.0, v) / mx)));
      svg += fmt::format(R"(<rect class="bar" x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>)",
                         left, y, w, bar_h - 2, kColors[s % 4], esc(series[s].name), num(v));
      svg += fmt::format(R"(<text x="{}" y="{}" class="value">{}</text>)", left + w + 4, y + bar_h - 3, num(v));
    }
  }
  if (series.size() > 1)
    for (size_t s = 0; s < series.size(); ++s)
      svg += fmt::format(R"(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" class="label">{}</text>)",
                         left, H - 18 * (legend_rows - int(s)) + 2, kColors[s % 4], left + 14,
                         H - 18 * (legend_rows - int(s)) + 11, esc(series[s].name));
  return svg + "</svg>";
}

struct Line {
  std::string name;
  std::vector<std::pair<double, double>> pts;
  bool dashed = false;
  int color = 0;
};

std::string line_chart(const std::string& title, const std::vector<Line>& lines, const std::string& xlabel,
                       const std::string& ylabel, bool y_from_zero) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& l : lines)
    for (auto [x, y] : l.pts) x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  if (x0 > x1) return "";
  if (y_from_zero) y0 = 0;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const int W = 640, H = 300, L = 60, R = 20, T = 30, B = 40;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); };
  std::string svg = fmt::format(R"(<svg class="chart lines" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" aria-label="{}">)",
                                W, H + 18 * int(lines.size()), esc(title));
  svg += fmt::format(R"(<text x="4" y="18" class="title">{}</text>)", esc(title));
  svg += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/><line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>)",
                     L, H - B, W - R, H - B, L, T, L, H - B);
  bool int_x = true;
  for (const auto& l : lines)
    for (auto [x, y] : l.pts) int_x = int_x && x == std::floor(x);
  for (int t = 0; t <= 4; ++t) {
    double yv = y0 + (y1 - y0) * t / 4, xv = x0 + (x1 - x0) * t / 4;
    svg += fmt::format(R"(<text x="{}" y="{:.1f}" text-anchor="end" class="tick">{}</text>)", L - 4, py(yv) + 4, num(yv));
    if (int_x && x1 - x0 < 4) continue;  // drawn below, one tick per integer
    svg += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" class="tick">{}</text>)", px(xv), H - B + 14,
                       num(int_x ? std::round(xv) : xv));
  }
  if (int_x && x1 - x0 < 4)
    for (double xv = x0; xv <= x1; xv += 1)
      svg += fmt::format(R"(<text x="{:.1f}" y="{}" text-anchor="middle" class="tick">{}</text>)", px(xv), H - B + 14, num(xv));
  svg += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle" class="label">{}</text>)", (L + W - R) / 2, H - 6, esc(xlabel));
  svg += fmt::format(R"svg(<text x="12" y="{}" class="label" transform="rotate(-90 12 {})" text-anchor="middle">{}</text>)svg",
                     (T + H - B) / 2, (T + H - B) / 2, esc(ylabel));
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& l = lines[i];
    std::string d;
    for (auto [x, y] : l.pts) d += fmt::format("{}{:.1f},{:.1f}", d.empty() ? "M" : " L", px(x), py(y));
    svg += fmt::format(R"(<path class="series" d="{}" fill="none" stroke="{}" stroke-width="2"{}><title>{}</title></path>)", d,
                       kColors[l.color % 4], l.dashed ? R"( stroke-dasharray="5,3")" : "", esc(l.name));
    if (l.pts.size() <= 12)
      for (auto [x, y] : l.pts)
        svg += fmt::format(R"(<circle cx="{:.1f}" cy="{:.1f}" r="3" fill="{}"/>)", px(x), py(y), kColors[l.color % 4]);
    int lx = L, ly = H + 12 + int(i) * 18;
    svg += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2"{}/><text x="{}" y="{}" class="label">{}</text>)",
                       lx, ly - 4, lx + 20, ly - 4, kColors[l.color % 4], l.dashed ? R"( stroke-dasharray="5,3")" : "",
                       lx + 24, ly, esc(l.name));
  }
  return svg + "</svg>";
}

double get(const json& j, const std::string& key) {
  return j.is_object() && j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
}

// "misspelled words ↓": a chart's label for a figure.
std::string chart_label(const std::string& key) {
  MetricLabel m = metric_label(key);
  std::string arrow(better_arrow(m.better));
  return std::string(m.label) + (arrow.empty() ? "" : " " + arrow);
}

// "misspelled words: share of words ... (lower is better)": the hover text.
std::string tip(const std::string& key) {
  MetricLabel m = metric_label(key);
  std::string words(better_words(m.better));
  return std::string(m.label) + ": " + std::string(m.explanation) + (words.empty() ? "" : " (" + words + ")");
}

std::vector<std::string> map_keys(const std::vector<std::string>& keys, std::string (*fn)(const std::string&)) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.push_back(fn(k));
  return out;
}

// The label cell of a table row: the words, and the explanation under them.
std::string label_cell(const std::string& key) {
  MetricLabel m = metric_label(key);
  return fmt::format(R"(<td class="figure" data-key="{}"><span class="name">{}</span><br><span class="explain">{}</span></td>)",
                     esc(key), esc(std::string(m.label)), esc(std::string(m.explanation)));
}

std::string better_cell(const std::string& key) {
  MetricLabel m = metric_label(key);
  return fmt::format(R"(<td class="better">{} {}</td>)", better_arrow(m.better), better_words(m.better));
}

// A table of what each figure shown means, so no one has to guess from a name.
std::string glossary(const std::vector<std::string>& keys) {
  std::string t = "<h3>What the story figures mean</h3><table class=\"glossary\"><tr><th>figure</th><th>better</th></tr>";
  for (const auto& k : keys) t += "<tr>" + label_cell(k) + better_cell(k) + "</tr>";
  return t + "</table>";
}

}  // namespace

json read_training_curve(const std::string& model_dir) {
  fs::path metrics = fs::path(model_dir).parent_path() / "metrics.jsonl";
  if (fs::path(model_dir).filename().empty()) metrics = fs::path(model_dir).parent_path().parent_path() / "metrics.jsonl";
  std::vector<train::CurvePoint> tc, vc;
  train::read_loss_curves(metrics.string(), tc, vc);
  if (tc.empty()) return nullptr;
  json train = json::array(), val = json::array();
  for (const auto& p : tc) train.push_back({p.step, p.loss});
  for (const auto& p : vc) val.push_back({p.step, p.loss});
  json curve{{"train", train}, {"val", val}, {"file", metrics.string()}};
  // A mixture-of-experts run's expert-load heat map (train/expert_load_plot.h), kept whole
  // so the report (and a merged one) shows it without the run folder.
  const fs::path load = metrics.parent_path() / "expert_load.svg";
  if (fs::exists(load)) curve["expert_load_svg"] = read_file(load.string());
  return curve;
}

std::string report_html(const std::vector<ModelReport>& models) {
  std::string body;
  std::vector<std::string> names, described;
  for (const auto& m : models) {
    names.push_back(m.value("name", "model"));
    described.push_back(names.back() + " (" + m.value("path", "") + ")");
  }

  // Plain-number metrics: shares on one chart (0..1), grades and lengths on another.
  std::vector<std::string> share_keys, other_keys;
  for (const auto& m : models)
    if (m.contains("stories"))
      for (const auto& [k, v] : m["stories"]["metrics"].items()) {
        if (!v.is_number() || k == "stories") continue;
        bool share = k.find("share") != std::string::npos || k.find("distinct") != std::string::npos ||
                     k.find("self_bleu") != std::string::npos || k.find("novel") != std::string::npos ||
                     k.find("agreement") != std::string::npos || k.find("repeated") != std::string::npos ||
                     k.find("instruct.") == 0;
        auto& keys = share ? share_keys : other_keys;
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
      }
  auto metric_series = [&](const std::vector<std::string>& keys) {
    std::vector<Series> s;
    for (size_t i = 0; i < models.size(); ++i) {
      Series x{names[i], {}};
      for (const auto& k : keys) x.values.push_back(models[i].contains("stories") ? get(models[i]["stories"]["metrics"], k) : NAN);
      s.push_back(x);
    }
    return s;
  };
  // The summary table first: the figures a person asks about.
  body += "<h2>Summary</h2><table class=\"summary\"><tr><th>figure</th><th>better</th>";
  for (const auto& n : names) body += "<th>" + esc(n) + "</th>";
  body += "</tr>";
  auto row = [&](const std::string& key, auto fn) {
    body += "<tr>" + label_cell(key) + better_cell(key);
    for (const auto& m : models) {
      double v = fn(m);
      body += "<td>" + (std::isfinite(v) ? num(v) : std::string("n/a")) + "</td>";
    }
    body += "</tr>";
  };
  row("loss.loss", [](const json& m) { return m.contains("loss") ? get(m["loss"], "loss") : NAN; });
  row("loss.perplexity", [](const json& m) { return m.contains("loss") ? get(m["loss"], "perplexity") : NAN; });
  for (const char* k : {"age.child_vocab_share", "age.flesch_kincaid_grade", "grammar.misspelled_share",
                        "diversity.self_bleu", "instruct.required_words"})
    row(k, [&](const json& m) { return m.contains("stories") ? get(m["stories"]["metrics"], k) : NAN; });
  body += "</table>";

  if (!share_keys.empty()) {
    body += "<h2>Story metrics</h2>";
    body += bar_chart("Shares (0 to 1)", map_keys(share_keys, chart_label), metric_series(share_keys), 1.0,
                      map_keys(share_keys, tip));
    body += bar_chart("Grades and lengths", map_keys(other_keys, chart_label), metric_series(other_keys), 0,
                      map_keys(other_keys, tip));
    std::vector<std::string> shown = share_keys;
    shown.insert(shown.end(), other_keys.begin(), other_keys.end());
    body += glossary(shown);
  }
  // Loss curves.
  std::vector<Line> loss_lines;
  for (size_t i = 0; i < models.size(); ++i) {
    const auto& c = models[i].value("curve", json());
    if (!c.is_object()) continue;
    for (const char* part : {"train", "val"}) {
      Line l{names[i] + " " + part, {}, std::string(part) == "val", int(i)};
      for (const auto& p : c[part]) l.pts.push_back({p[0].get<double>(), p[1].get<double>()});
      if (!l.pts.empty()) loss_lines.push_back(l);
    }
  }
  if (!loss_lines.empty()) body += "<h2>Training</h2>" + line_chart("Loss during training", loss_lines, "step", "loss", false);
  for (size_t i = 0; i < models.size(); ++i) {
    const auto& c = models[i].value("curve", json());
    if (c.is_object() && c.contains("expert_load_svg"))
      body += "<h3>Expert load: " + esc(names[i]) +
              "</h3><p>Each expert's share of the routed tokens over its fair share (1/experts) at each logged step, "
              "layer by layer: white is fair, blue below, red above.</p>" + c["expert_load_svg"].get<std::string>();
  }
  // Few-shot accuracy against K.
  std::vector<Line> fs_lines;
  for (size_t i = 0; i < models.size(); ++i) {
    if (!models[i].contains("fewshot")) continue;
    std::map<std::string, Line> by_task;
    for (const auto& r : models[i]["fewshot"]) {
      auto& l = by_task[r["task"].get<std::string>()];
      l.name = names[i] + ": " + r["task"].get<std::string>();
      l.color = int(fs_lines.size() + by_task.size());
      l.dashed = i > 0;
      l.pts.push_back({r["k"].get<double>(), r["acc_norm"].get<double>()});
    }
    for (auto& [t, l] : by_task) fs_lines.push_back(l);
  }
  if (!fs_lines.empty())
    body += "<h2>Few-shot</h2>" + line_chart("Accuracy (length-normalised) against K, the examples in the context", fs_lines,
                                             "K (shots)", "accuracy", true);
  // Judge grades.
  const std::vector<std::string> grade_keys = {"grammar", "creativity", "consistency", "plot"};
  std::vector<std::string> grade_labels, grade_tips;
  for (const auto& k : grade_keys) grade_labels.push_back(chart_label("judge." + k)), grade_tips.push_back(tip("judge." + k));
  std::vector<Series> judge;
  for (size_t i = 0; i < models.size(); ++i)
    if (models[i].contains("judge")) {
      Series s{names[i], {}};
      for (const auto& k : grade_keys) s.values.push_back(get(models[i]["judge"]["means"], k));
      judge.push_back(s);
    }
  if (!judge.empty()) {
    body += "<h2>LLM judge</h2>" + bar_chart("Mean grades (1 to 10)", grade_labels, judge, 10.0, grade_tips);
    for (size_t i = 0; i < models.size(); ++i)
      if (models[i].contains("judge"))
        body += fmt::format("<p>{}: {} judged, {} failed (recorded, not scored); judge {}</p>", esc(names[i]),
                            models[i]["judge"].value("judged", 0), models[i]["judge"].value("failed", 0),
                            esc(models[i]["judge"].value("judge", std::string())));
  }
  // Samples.
  for (size_t i = 0; i < models.size(); ++i) {
    if (!models[i].contains("stories")) continue;
    body += "<h2>Sample stories: " + esc(names[i]) + "</h2><table class=\"samples\"><tr><th>prompt</th><th>story</th><th>scores</th></tr>";
    int shown = 0;
    for (const auto& s : models[i]["stories"]["samples"]) {
      if (shown++ >= 12) break;
      std::string scores;
      for (const char* k : {"child_vocab_share", "fk_grade", "misspelled", "repeated_4grams", "required_words", "features_shown"})
        if (s.contains(k))
          scores += fmt::format("<span title=\"{}\">{}</span>: {}<br>", esc(tip(std::string("sample.") + k)),
                                esc(chart_label(std::string("sample.") + k)), s[k].is_number() ? num(s[k].get<double>()) : s[k].dump());
      if (s.contains("judge") && s["judge"].value("ok", false))
        scores += fmt::format("judge: G{} C{} Co{} P{} age {}", s["judge"]["grammar"].get<int>(), s["judge"]["creativity"].get<int>(),
                              s["judge"]["consistency"].get<int>(), s["judge"]["plot"].get<int>(), s["judge"]["age_group"].get<std::string>());
      body += "<tr><td>" + esc(s.value("prompt", "")) + "</td><td class=\"story\">" + esc(s.value("story", "")) +
              "</td><td>" + scores + "</td></tr>";
    }
    body += "</table>";
  }
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>slm evaluation report</title><style>"
         "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}"
         "td.story{white-space:pre-wrap;max-width:560px;font-size:90%}"
         "svg.chart{display:block;margin:1em 0}.title{font-weight:bold;font-size:14px}.label{font-size:12px}"
         ".tick,.value{font-size:11px;fill:#444}.axis{stroke:#888}"
         "td.figure .name{font-weight:bold}td.figure .explain{font-size:85%;color:#555}td.better{white-space:nowrap}"
         "</style></head><body><h1>slm evaluation report</h1><p>Models: " +
         esc(fmt::format("{}", fmt::join(described, ", "))) + "</p>" + body + "</body></html>\n";
}

std::string write_report(const std::string& out_dir, const std::vector<ModelReport>& models) {
  fs::create_directories(out_dir);
  write_file_atomic((fs::path(out_dir) / "report.json").string(), json{{"models", models}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
  std::string html = (fs::path(out_dir) / "report.html").string();
  write_file_atomic(html, report_html(models));
  return html;
}

std::string merge_reports(const std::vector<std::string>& report_jsons, const std::string& out_dir) {
  std::vector<ModelReport> models;
  for (const auto& f : report_jsons) {
    auto j = json::parse(read_file(f), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("models") || !j["models"].is_array())
      throw Error("not a report.json (expected an object with a 'models' array)", f);
    for (auto& m : j["models"]) models.push_back(m);
  }
  return write_report(out_dir, models);
}

}  // namespace slm::eval
