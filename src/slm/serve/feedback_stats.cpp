#include "slm/serve/feedback_stats.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <set>
#include <tuple>

#include "slm/eval/story_eval.h"
#include "slm/serve/feedback.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::serve {

using nlohmann::json;

std::map<std::string, double> elo_ratings(const std::vector<Battle>& battles, double k, double base) {
  std::map<std::string, double> r;
  for (const auto& b : battles) r.emplace(b.a, base), r.emplace(b.b, base);
  for (const auto& b : battles) {
    const double expect_a = 1 / (1 + std::pow(10.0, (r[b.b] - r[b.a]) / 400));
    r[b.a] += k * (b.score_a - expect_a);
    r[b.b] -= k * (b.score_a - expect_a);
  }
  return r;
}

std::map<std::string, double> bradley_terry(const std::vector<Battle>& battles) {
  std::map<std::string, int> index;
  for (const auto& b : battles) index.emplace(b.a, 0), index.emplace(b.b, 0);
  int n = 0;
  for (auto& [name, i] : index) i = n++;
  // games[i][j]: comparisons between i and j; wins[i]: i's wins (ties half), with one
  // virtual tie for each pair that met.
  std::vector<std::vector<double>> games(size_t(n), std::vector<double>(size_t(n), 0));
  std::vector<double> wins(size_t(n), 0);
  for (const auto& b : battles) {
    const size_t i = size_t(index[b.a]), j = size_t(index[b.b]);
    if (games[i][j] == 0) games[i][j] = games[j][i] = 1, wins[i] += 0.5, wins[j] += 0.5;
    games[i][j] += 1, games[j][i] += 1;
    wins[i] += b.score_a, wins[j] += 1 - b.score_a;
  }
  // Hunter (2004): p_i <- W_i / sum_j n_ij / (p_i + p_j), then rescale; converges to the MLE.
  std::vector<double> p(size_t(n), 1.0);
  for (int it = 0; it < 1000; ++it) {
    std::vector<double> next(static_cast<size_t>(n));
    for (size_t i = 0; i < size_t(n); ++i) {
      double denom = 0;
      for (size_t j = 0; j < size_t(n); ++j)
        if (j != i && games[i][j] > 0) denom += games[i][j] / (p[i] + p[j]);
      next[i] = denom > 0 ? wins[i] / denom : p[i];
    }
    double log_mean = 0;
    for (double v : next) log_mean += std::log(v) / n;
    double change = 0;
    for (size_t i = 0; i < size_t(n); ++i) {
      const double v = next[i] / std::exp(log_mean);
      change = std::max(change, std::abs(v - p[i]));
      p[i] = v;
    }
    if (change < 1e-10) break;
  }
  std::map<std::string, double> out;
  for (const auto& [name, i] : index) out[name] = 400 * std::log10(p[size_t(i)]) + 1000;
  return out;
}

std::optional<double> krippendorff_alpha(const std::vector<std::vector<double>>& units) {
  // Interval metric: D_o averages (v - v')^2 over the pairs within units (each unit's pairs
  // weighted 1 / (m_u - 1)); D_e over all pairs of pairable values. alpha = 1 - D_o / D_e.
  std::vector<double> pooled;
  double observed = 0;
  for (const auto& u : units) {
    if (u.size() < 2) continue;
    double sum = 0;
    for (size_t i = 0; i < u.size(); ++i)
      for (size_t j = 0; j < u.size(); ++j) sum += (u[i] - u[j]) * (u[i] - u[j]);
    observed += sum / double(u.size() - 1);
    pooled.insert(pooled.end(), u.begin(), u.end());
  }
  const double n = double(pooled.size());
  if (n < 2) return std::nullopt;
  double expected = 0;
  for (double a : pooled)
    for (double b : pooled) expected += (a - b) * (a - b);
  expected /= n * (n - 1);
  if (expected == 0) return std::nullopt;
  return 1 - (observed / n) / expected;
}

namespace {

std::vector<double> ranks(const std::vector<double>& x) {
  std::vector<size_t> order(x.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> r(x.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && x[order[j + 1]] == x[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) r[order[k]] = (double(i) + double(j)) / 2 + 1;  // ties: their mean rank
    i = j + 1;
  }
  return r;
}

std::optional<double> pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i)
    sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx), syy += (y[i] - my) * (y[i] - my);
  if (sxx == 0 || syy == 0) return std::nullopt;
  return sxy / std::sqrt(sxx * syy);
}

json maybe(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

const char* const kRubric[] = {"grammar", "creativity", "consistency", "plot", "age_appropriate"};

int stars(const Rating& r, int field) {
  const int v[] = {r.grammar, r.creativity, r.consistency, r.plot, r.age};
  return v[field];
}

// The mean of the stars given (0 when none).
double mean_stars(const Rating& r) { return r.score() - r.thumbs; }

// Ratings grouped by the story they rate; a named person's later rating of a story
// replaces their earlier one (anonymous ratings each count as another person).
std::map<std::pair<std::string, std::string>, std::vector<Rating>> by_story(const std::vector<Rating>& ratings) {
  std::map<std::pair<std::string, std::string>, std::vector<Rating>> out;
  for (const auto& r : ratings) {
    auto& list = out[{r.prompt, r.story}];
    auto same = std::find_if(list.begin(), list.end(),
                             [&](const Rating& o) { return !r.rater.empty() && o.rater == r.rater; });
    if (same != list.end()) *same = r;
    else list.push_back(r);
  }
  return out;
}

// Pairs of people who judged the same item: how many, how many gave the same value, and
// how many values at most one apart.
struct PairCounts {
  size_t pairs = 0, exact = 0, close = 0;
  void add(const std::vector<double>& u) {
    for (size_t i = 0; i < u.size(); ++i)
      for (size_t j = i + 1; j < u.size(); ++j) {
        ++pairs;
        exact += u[i] == u[j];
        close += std::abs(u[i] - u[j]) <= 1;
      }
  }
  json exact_share() const { return pairs ? json(double(exact) / double(pairs)) : json(nullptr); }
};

// Per rubric field (and the thumb): alpha, and the share of pairs of people who gave the
// same stars and stars at most one apart.
json agreement(const std::map<std::pair<std::string, std::string>, std::vector<Rating>>& stories) {
  json out = json::array();
  for (int f = -1; f < 5; ++f) {  // -1: the thumb
    std::vector<std::vector<double>> units;
    PairCounts c;
    for (const auto& [key, rs] : stories) {
      std::vector<double> u;
      for (const auto& r : rs) {
        const int v = f < 0 ? r.thumbs : stars(r, f);
        if (v != 0) u.push_back(v);
      }
      c.add(u);
      if (u.size() >= 2) units.push_back(std::move(u));
    }
    json row = {{"field", f < 0 ? "thumbs" : kRubric[f]},
                {"items", units.size()},
                {"pairs", c.pairs},
                {"alpha", maybe(krippendorff_alpha(units))},
                {"exact", c.exact_share()}};
    if (f >= 0) row["within_one"] = c.pairs ? json(double(c.close) / double(c.pairs)) : json(nullptr);
    out.push_back(row);
  }
  return out;
}

// Arena picks as agreement data: each unordered pair of stories for one request is an
// item, and each person's pick a value: +1 the pair's first story (in text order), -1 the
// other, 0 a tie or "both bad" (no preference either way). A named person's later pick
// of the same pair replaces their earlier one, as with ratings.
json arena_agreement(const std::vector<ArenaPick>& picks) {
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::pair<std::string, double>>> items;
  for (const auto& p : picks) {
    const bool a_first = p.story_a <= p.story_b;
    const double v = p.winner == "a" ? 1 : p.winner == "b" ? -1 : 0;
    auto& list = items[{p.prompt, a_first ? p.story_a : p.story_b, a_first ? p.story_b : p.story_a}];
    const double value = a_first ? v : -v;
    auto same = std::find_if(list.begin(), list.end(), [&](const auto& o) { return !p.rater.empty() && o.first == p.rater; });
    if (same != list.end()) same->second = value;
    else list.emplace_back(p.rater, value);
  }
  std::vector<std::vector<double>> units;
  PairCounts c;
  for (const auto& [key, list] : items) {
    if (list.size() < 2) continue;
    std::vector<double> u;
    for (const auto& [who, v] : list) u.push_back(v);
    c.add(u);
    units.push_back(std::move(u));
  }
  return {{"field", "arena_pick"}, {"items", units.size()}, {"pairs", c.pairs},
          {"alpha", maybe(krippendorff_alpha(units))}, {"exact", c.exact_share()}};
}

double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double at = q * double(v.size() - 1);
  const size_t lo = size_t(std::floor(at)), hi = size_t(std::ceil(at));
  return v[lo] + (v[hi] - v[lo]) * (at - double(lo));
}

// Models' records, Elo and Bradley-Terry with 95% bootstrap intervals, from arena picks
// between two different models (picks between two samples of one model rank nothing).
json arena_table(const std::vector<ArenaPick>& picks, const StatsOptions& opt) {
  std::vector<Battle> battles;
  size_t same_model = 0;
  for (const auto& p : picks) {
    if (p.model_a == p.model_b) {
      ++same_model;
      continue;
    }
    battles.push_back({p.model_a, p.model_b, p.winner == "a" ? 1.0 : p.winner == "b" ? 0.0 : 0.5});
  }
  json out = {{"battles", battles.size()}, {"same_model_picks", same_model}, {"bootstrap", opt.bootstrap},
              {"models", json::array()}};
  if (battles.empty()) return out;
  const auto elo = elo_ratings(battles);
  const auto bt = bradley_terry(battles);
  std::map<std::string, std::vector<double>> elo_samples, bt_samples;
  Rng rng(opt.seed);
  std::vector<Battle> sample(battles.size());
  for (int s = 0; s < opt.bootstrap; ++s) {
    for (auto& b : sample) b = battles[rng.below(uint32_t(battles.size()))];
    for (const auto& [m, v] : elo_ratings(sample)) elo_samples[m].push_back(v);
    for (const auto& [m, v] : bradley_terry(sample)) bt_samples[m].push_back(v);
  }
  for (const auto& [model, rating] : bt) {
    double games = 0, wins = 0, ties = 0;
    for (const auto& b : battles) {
      if (b.a != model && b.b != model) continue;
      const double s = b.a == model ? b.score_a : 1 - b.score_a;
      games += 1, wins += s == 1, ties += s == 0.5;
    }
    json row = {{"model", model}, {"battles", games}, {"wins", wins}, {"ties", ties},
                {"win_rate", (wins + ties / 2) / games}, {"elo", elo.at(model)}, {"bradley_terry", rating}};
    auto interval = [](const std::vector<double>& v) {
      return v.size() < 2 ? json(nullptr) : json::array({percentile(v, 0.025), percentile(v, 0.975)});
    };
    row["elo_95"] = interval(elo_samples[model]);
    row["bradley_terry_95"] = interval(bt_samples[model]);
    out["models"].push_back(row);
  }
  std::sort(out["models"].begin(), out["models"].end(),
            [](const json& a, const json& b) { return a["bradley_terry"].get<double>() > b["bradley_terry"].get<double>(); });
  return out;
}

// Spearman between the human mean stars and each automatic metric of the same stories.
json metric_correlations(const std::vector<std::string>& stories, const std::vector<double>& human) {
  json out = {{"stories", stories.size()}, {"spearman", json::object()}};
  if (stories.empty()) return out;
  const auto scored = eval::score_stories({}, stories);
  const std::pair<const char*, const char*> metrics[] = {
      {"words", "words"}, {"child_vocab_share", "child_vocab_share"}, {"fk_grade", "fk_grade"},
      {"misspelled_share", "misspelled"}, {"unfinished", "unfinished"}, {"repeated_4grams", "repeated_4grams"}};
  for (const auto& [name, field] : metrics) {
    std::vector<double> v;
    for (const auto& s : scored.samples) {
      double x = s[field].is_boolean() ? double(s[field].get<bool>()) : s[field].get<double>();
      if (std::string(name) == "misspelled_share") x /= std::max(1, s["words"].get<int>());
      v.push_back(x);
    }
    out["spearman"][name] = maybe(spearman(human, v));
  }
  return out;
}

// The LLM judge grades each story; Spearman between its grades and people's, overall and
// for the four fields both use.
json judge_correlations(const std::vector<std::string>& stories, const std::vector<std::vector<double>>& human_fields, const std::vector<double>& human,
                        const StatsOptions& opt) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& s : stories) pairs.emplace_back("", s);  // a story written whole: no given beginning
  const auto judged = eval::judge_stories(pairs, opt.judge, opt.quiet);
  std::vector<double> h, j;
  std::vector<std::vector<double>> hf(4), jf(4);
  size_t ok = 0;
  for (size_t i = 0; i < judged.size(); ++i) {
    if (!judged[i].ok) continue;
    ++ok;
    const double grades[] = {double(judged[i].grammar), double(judged[i].creativity), double(judged[i].consistency),
                             double(judged[i].plot)};
    h.push_back(human[i]);
    j.push_back((grades[0] + grades[1] + grades[2] + grades[3]) / 4);
    for (int f = 0; f < 4; ++f)
      if (human_fields[i][size_t(f)] > 0) hf[size_t(f)].push_back(human_fields[i][size_t(f)]), jf[size_t(f)].push_back(grades[f]);
  }
  json out = {{"url", opt.judge.url}, {"model", opt.judge.model}, {"stories", stories.size()}, {"graded", ok},
              {"spearman", {{"mean", maybe(spearman(h, j))}}}};
  for (int f = 0; f < 4; ++f) out["spearman"][kRubric[f]] = maybe(spearman(hf[size_t(f)], jf[size_t(f)]));
  return out;
}

}  // namespace

std::optional<double> spearman(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() != y.size() || x.size() < 3) return std::nullopt;
  return pearson(ranks(x), ranks(y));
}

json feedback_stats(const std::string& db, const StatsOptions& opt) {
  if (!std::filesystem::exists(db)) throw Error("no such feedback database", db);
  const FeedbackStore store(db);
  const auto ratings = store.all();
  const auto picks = store.arena();
  const auto stories = by_story(ratings);
  std::set<std::string> named;
  size_t anonymous = 0;
  for (const auto& r : ratings) r.rater.empty() ? void(++anonymous) : void(named.insert(r.rater));
  json out = {{"counts",
               {{"ratings", ratings.size()}, {"stories", stories.size()}, {"named_raters", named.size()},
                {"anonymous_ratings", anonymous}, {"arena_picks", picks.size()}}}};
  out["agreement"] = agreement(stories);
  out["agreement"].push_back(arena_agreement(picks));
  out["arena"] = arena_table(picks, opt);
  // Each story with stars: people's mean (over people) of their mean stars, and per field.
  std::vector<std::string> texts;
  std::vector<double> human;
  std::vector<std::vector<double>> fields;
  for (const auto& [key, rs] : stories) {
    double sum = 0, n = 0;
    std::vector<double> f(5, 0), fn(5, 0);
    for (const auto& r : rs) {
      if (mean_stars(r) > 0) sum += mean_stars(r), ++n;
      for (int k = 0; k < 5; ++k)
        if (stars(r, k) > 0) f[size_t(k)] += stars(r, k), ++fn[size_t(k)];
    }
    if (n == 0) continue;
    for (int k = 0; k < 5; ++k) f[size_t(k)] = fn[size_t(k)] > 0 ? f[size_t(k)] / fn[size_t(k)] : 0;
    texts.push_back(key.second);
    human.push_back(sum / n);
    fields.push_back(f);
  }
  out["metrics"] = metric_correlations(texts, human);
  out["judge"] = opt.judge.url.empty() || texts.empty() ? json(nullptr)
                                                       : judge_correlations(texts, fields, human, opt);
  return out;
}

std::string format_stats(const json& s) {
  auto num = [](const json& v, const char* f = "{:.3f}") {
    return v.is_null() ? std::string("-") : fmt::format(fmt::runtime(f), v.get<double>());
  };
  const json& c = s["counts"];
  std::string out = fmt::format("{} ratings of {} stories ({} named people, {} anonymous ratings); {} arena picks\n\n",
                                c["ratings"].get<size_t>(), c["stories"].get<size_t>(), c["named_raters"].get<size_t>(),
                                c["anonymous_ratings"].get<size_t>(), c["arena_picks"].get<size_t>());
  out += "Agreement between people on the same story, and on the same arena pair (Krippendorff's alpha,\n"
         "interval; 1 = full, 0 = chance; an arena pick counts +1 / -1 / 0 for a tie or both bad)\n";
  out += fmt::format("  {:<16} {:>6} {:>6} {:>7} {:>7} {:>9}\n", "field", "items", "pairs", "alpha", "exact", "within 1");
  for (const auto& a : s["agreement"])
    out += fmt::format("  {:<16} {:>6} {:>6} {:>7} {:>7} {:>9}\n", a["field"].get<std::string>(), a["items"].get<size_t>(),
                       a["pairs"].get<size_t>(), num(a["alpha"]), num(a["exact"]),
                       a.contains("within_one") ? num(a["within_one"]) : std::string("-"));
  const json& ar = s["arena"];
  out += fmt::format("\nArena: {} picks between two models ({} between two samples of one model); ties count half;\n"
                     "Elo K=4 in pick order; Bradley-Terry by maximum likelihood; [95%] from {} bootstrap resamples\n",
                     ar["battles"].get<size_t>(), ar["same_model_picks"].get<size_t>(), ar["bootstrap"].get<int>());
  if (!ar["models"].empty())
    out += fmt::format("  {:<16} {:>7} {:>5} {:>5} {:>8} {:>19} {:>19}\n", "model", "battles", "wins", "ties", "win rate",
                       "Elo [95%]", "Bradley-Terry [95%]");
  for (const auto& m : ar["models"]) {
    auto with = [&](const char* v, const char* ci) {
      const json& i = m[ci];
      return fmt::format("{:.0f} [{}, {}]", m[v].get<double>(), i.is_null() ? "-" : fmt::format("{:.0f}", i[0].get<double>()),
                         i.is_null() ? "-" : fmt::format("{:.0f}", i[1].get<double>()));
    };
    out += fmt::format("  {:<16} {:>7} {:>5} {:>5} {:>8.3f} {:>19} {:>19}\n", m["model"].get<std::string>(),
                       m["battles"].get<double>(), m["wins"].get<double>(), m["ties"].get<double>(),
                       m["win_rate"].get<double>(), with("elo", "elo_95"), with("bradley_terry", "bradley_terry_95"));
  }
  out += fmt::format("\nPeople's mean stars against slm's story metrics (Spearman over {} stories with stars)\n",
                     s["metrics"]["stories"].get<size_t>());
  for (const auto& [name, v] : s["metrics"]["spearman"].items()) out += fmt::format("  {:<18} {:>7}\n", name, num(v));
  if (!s["judge"].is_null()) {
    const json& j = s["judge"];
    out += fmt::format("\nPeople's stars against the LLM judge {} ({} of {} stories graded; Spearman)\n",
                       j["model"].get<std::string>(), j["graded"].get<size_t>(), j["stories"].get<size_t>());
    for (const auto& [name, v] : j["spearman"].items()) out += fmt::format("  {:<18} {:>7}\n", name, num(v));
  } else {
    out += "\n(no LLM judge: add --judge-url and --judge-model to compare people's stars with a judge's grades)\n";
  }
  return out;
}

}  // namespace slm::serve
