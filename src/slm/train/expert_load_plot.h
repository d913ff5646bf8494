#pragma once
// Expert load of a mixture-of-experts run as a heat map (SVG): one row per (layer, expert),
// one column per logged step, each cell coloured by the expert's share of its layer's
// routed tokens relative to a fair share (1/E): white is fair, blue starved, red
// overloaded. Read from metrics.jsonl's "expert_tokens" ([layer][expert], empty for
// dense layers).
#include <string>

namespace slm::train {

// Writes the heat map of metrics_path's rows to svg_path (atomically); false when the
// file has no expert counts (a dense model).
bool write_expert_load_svg(const std::string& metrics_path, const std::string& svg_path, const std::string& title);

}  // namespace slm::train
