#include "slm/explain/page.h"

#include "slm/util/atomic_file.h"
#include "slm/util/output_folder.h"

namespace slm::explain {

void Page::heading(const std::string& text) { body_ += "<h2>" + xml_escape(text) + "</h2>\n"; }

void Page::paragraph(const std::string& text) { body_ += "<p>" + xml_escape(text) + "</p>\n"; }

void Page::heatmap(const HeatMap& h, const std::string& file_name) {
  const std::string svg = heatmap_svg(h);
  svgs_.emplace_back(file_name, svg);
  body_ += "<figure>" + svg + "<figcaption><a href=\"" + xml_escape(file_name) + "\">" + xml_escape(file_name) +
           "</a></figcaption></figure>\n";
}

void Page::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  body_ += "<table><tr>";
  for (const auto& h : header) body_ += "<th>" + xml_escape(h) + "</th>";
  body_ += "</tr>\n";
  for (const auto& r : rows) {
    body_ += "<tr>";
    for (const auto& c : r) body_ += "<td>" + xml_escape(c) + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</table>\n";
}

void Page::write(const std::string& dir, const nlohmann::json& result) const {
  OutputFolder out(dir);
  const std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + xml_escape(title_) +
      "</title>\n<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-family:monospace}"
      "figure{margin:1em 0;overflow-x:auto}</style></head><body>\n<h1>" +
      xml_escape(title_) + "</h1>\n" + body_ + "</body></html>\n";
  write_file_atomic(out.file("index.html"), html);
  for (const auto& [name, svg] : svgs_) write_file_atomic(out.file(name), svg);
  write_file_atomic(out.file("result.json"), result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  out.commit();
}

}  // namespace slm::explain
