// The dense-vs-MoE comparison's report: both runs' validation curves in one picture, the
// validation loss at equal training tokens, and the MoE run's expert load balance after
// warm-up (each expert's share of its layer's routed tokens over the fair share 1/E,
// averaged over the steps after WARMUP; the goal: no expert below 0.5).
// Usage: moe_report DENSE_RUN MOE_RUN WARMUP_STEPS OUT.svg
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "slm/train/loss_plot.h"

using slm::train::CurvePoint;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: moe_report DENSE_RUN MOE_RUN WARMUP_STEPS OUT.svg\n");
    return 2;
  }
  const std::string dense = argv[1], moe = argv[2];
  const int warmup = std::atoi(argv[3]);
  std::vector<CurvePoint> dt, dv, mt, mv;
  slm::train::read_loss_curves(dense + "/metrics.jsonl", dt, dv);
  slm::train::read_loss_curves(moe + "/metrics.jsonl", mt, mv);
  if (dv.empty() || mv.empty()) {
    std::fprintf(stderr, "moe_report: a run has no validation loss\n");
    return 1;
  }
  slm::train::write_curves_svg(argv[4],
                               {{"dense train", "#9ecae1", dt, 1.0, false}, {"MoE train", "#fdae6b", mt, 1.0, false},
                                {"dense validation", "#1f77b4", dv, 2.0, true},
                                {"MoE 8 experts top-2 validation", "#d62728", mv, 2.0, true}},
                               "dense vs MoE at equal active parameters and equal tokens");
  // Load: per layer and expert, the mean over post-warm-up steps of share × E.
  std::vector<std::vector<double>> rel;
  int steps = 0;
  std::ifstream in(moe + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("expert_tokens") || j.value("step", 0) <= warmup) continue;
    const auto& et = j["expert_tokens"];
    rel.resize(et.size());
    for (size_t l = 0; l < et.size(); ++l) {
      double total = 0;
      for (const auto& v : et[l]) total += v.get<double>();
      rel[l].resize(et[l].size(), 0.0);
      for (size_t e = 0; e < et[l].size(); ++e)
        if (total > 0) rel[l][e] += et[l][e].get<double>() / total * double(et[l].size());
    }
    ++steps;
  }
  double lo = 1e9, hi = 0;
  for (auto& row : rel)
    for (double& r : row) r /= std::max(steps, 1), lo = std::min(lo, r), hi = std::max(hi, r);
  std::printf("RESULT dense_val=%.4f moe_val=%.4f min_load=%.3f max_load=%.3f (steps after warm-up: %d)\n",
              dv.back().loss, mv.back().loss, lo, hi, steps);
  for (size_t l = 0; l < rel.size(); ++l) {
    std::printf("layer %zu load / fair share:", l);
    for (double r : rel[l]) std::printf(" %.2f", r);
    std::printf("\n");
  }
  return 0;
}
