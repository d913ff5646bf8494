#pragma once
// What people's ratings say (slm feedback stats): how far people agree on the same story
// (Krippendorff's alpha), which model wins the arena (Elo as Chatbot Arena computed it at
// first, and Bradley-Terry by maximum likelihood as it does now, each with bootstrap
// intervals), and how human grades follow slm's automatic story metrics and an LLM judge
// (Spearman's rank correlation).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/eval/judge.h"

namespace slm::serve {

// One comparison: a against b, score_a 1 (a won), 0 (b won) or 0.5 (a tie).
struct Battle {
  std::string a, b;
  double score_a = 0.5;
};

// Online Elo over the battles in order, every model starting at `base` (Chatbot Arena's
// first leaderboard: K = 4, base 1000, scale 400).
std::map<std::string, double> elo_ratings(const std::vector<Battle>& battles, double k = 4, double base = 1000);

// Bradley-Terry strengths by maximum likelihood (Hunter's MM iterations; a tie is half a
// win each way), on Elo's scale: 400 log10(p) + 1000 with the geometric mean of p at 1.
// Each pair that met gets one virtual tie, so a model that never won stays finite.
std::map<std::string, double> bradley_terry(const std::vector<Battle>& battles);

// Krippendorff's alpha with the interval metric. units: the values people gave one item
// (units with fewer than two values are not pairable and are skipped). nullopt when no
// unit is pairable or every value is the same.
std::optional<double> krippendorff_alpha(const std::vector<std::vector<double>>& units);

// Spearman's rank correlation (ties get their mean rank); nullopt under 3 pairs or when
// either side is constant.
std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y);

struct StatsOptions {
  int bootstrap = 1000;  // resamples of the battles for the 95% intervals
  uint64_t seed = 1;
  eval::JudgeOptions judge;  // judge.url set: the LLM judge grades each rated story
  bool quiet = false;
};

// Everything `slm feedback stats` prints, as JSON: {"counts", "agreement", "arena",
// "metrics", "judge"}.
nlohmann::json feedback_stats(const std::string& db, const StatsOptions& opt);

// The same as text tables for a terminal.
std::string format_stats(const nlohmann::json& stats);

}  // namespace slm::serve
