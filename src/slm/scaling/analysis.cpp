#include "slm/scaling/analysis.h"

#include <algorithm>
#include <tuple>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "slm/scaling/emergence.h"
#include "slm/scaling/minimal_pairs.h"
#include "slm/scaling/plot_png.h"
#include "slm/scaling/plot.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::scaling {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

LawFit fit_from_json(const json& j) {
  LawFit f;
  const std::string form = j.at("form").get<std::string>();
  f.form = form == "joint" ? LawForm::joint : form == "n_only" ? LawForm::n_only : LawForm::d_only;
  f.E = j.at("E").get<double>();
  f.A = j.value("A", 0.0), f.alpha = j.value("alpha", 0.0), f.B = j.value("B", 0.0), f.beta = j.value("beta", 0.0);
  return f;
}

// One law with its intervals, as fit.json records it.
json fit_with_ci(const std::vector<LossPoint>& pts, LawForm form, const AnalysisOptions& opt, const FitOptions& fo) {
  LawFit f = fit_law(pts, form, fo);
  json j = f.to_json();
  j["points"] = pts.size();
  // With no more points than parameters the law passes through every point and each
  // resample that can be fitted is the sample itself: no interval to speak of.
  const size_t params = form == LawForm::joint ? 5 : 3;
  if (opt.bootstrap > 0 && pts.size() > params) j["ci"] = bootstrap_law(pts, form, f, opt.bootstrap, opt.level, opt.seed, fo).to_json();
  return j;
}

std::string html_esc(const std::string& s) {
  std::string o;
  for (char c : s) o += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return o;
}

std::string with_ci(const json& fit, const char* key, const char* fmtspec = "{:.3g}") {
  if (!fit.contains(key)) return "";
  std::string s = fmt::format(fmt::runtime(fmtspec), fit[key].get<double>());
  if (fit.contains("ci") && fit["ci"].contains(key) && fit["ci"]["resamples"].get<int>() > 0)
    s += fmt::format(fmt::runtime(" [" + std::string(fmtspec) + ", " + fmtspec + "]"), fit["ci"][key][0].get<double>(),
                     fit["ci"][key][1].get<double>());
  return s;
}

std::vector<double> distinct(const std::vector<LossPoint>& pts, double LossPoint::*f) {
  std::set<double> s;
  for (const auto& p : pts) s.insert(p.*f);
  return {s.begin(), s.end()};
}

// A law's curve over x (N or D) at a fixed value of the other variable.
PlotSeries law_curve(const LawFit& f, double lo, double hi, bool over_n, double other, std::string name, int color) {
  PlotSeries s{std::move(name), color, {}, true, false, true};
  for (int i = 0; i <= 40; ++i) {
    double x = lo * std::pow(hi / lo, i / 40.0);
    s.points.push_back({x, over_n ? f.predict(x, other) : f.predict(other, x)});
  }
  return s;
}

// The zero-shot minimal pairs (minimal_pairs.h) of every measured model: one chart with a
// curve per grammar task, and a paragraph saying, per task, where the ability is absent
// (the interval holds chance) and where present (its lower end is above chance).
std::string minimal_pairs_summary(const std::vector<json>& ab_points, double nlo, double nhi,
                                  std::vector<std::pair<std::string, std::string>>& charts) {
  std::vector<PlotSeries> s;
  std::string text;
  int color = 0;
  for (const auto& task : minimal_pair_task_names()) {
    PlotSeries ps{task, color++, {}, true, true, false};
    std::vector<std::string> absent, present, below;
    for (const auto& p : ab_points)
      for (const auto& t : p["abilities"])
        if (t["task"] == task && t["k"] == 0) {
          const double N = p["N"].get<double>(), lo = t["lo"].get<double>(), hi = t["hi"].get<double>();
          ps.points.push_back({N, t["acc"].get<double>(), lo, hi});
          const std::string at = fmt::format("{} ({:.2f})", p["size"].get<std::string>(), t["acc"].get<double>());
          (lo > 0.5 ? present : hi < 0.5 ? below : absent).push_back(at);
        }
    if (ps.points.empty()) continue;
    s.push_back(ps);
    auto list = [](const std::vector<std::string>& v) {
      std::string o;
      for (const auto& x : v) o += (o.empty() ? "" : ", ") + x;
      return o.empty() ? std::string("none") : o;
    };
    const bool emerges = ps.points.size() >= 2 && ps.points.front().hi >= 0.5 && ps.points.front().lo <= 0.5 &&
                         ps.points.back().lo > 0.5;
    text += fmt::format("<li><b>{}</b>: {}. At chance: {}. Above chance: {}{}.</li>\n", html_esc(task),
                        emerges ? "absent at the smallest model, present at the largest" : "does not emerge across these sizes",
                        html_esc(list(absent)), html_esc(list(present)),
                        below.empty() ? "" : ". Below chance: " + html_esc(list(below)));
  }
  if (s.empty()) return "";
  s.push_back({"chance", 7, {{nlo, 0.5}, {nhi, 0.5}}, true, false, true});
  charts.push_back({"minimal_pairs", svg_plot({"zero-shot grammar (minimal pairs) against size", "non-embedding parameters N",
                                               "accuracy (95% Wilson interval)", true, false, 0, 1}, s)});
  return "<h2>Zero-shot grammar (minimal pairs)</h2><p>The grammatical sentence of each pair against its one-word "
         "change, by log-likelihood; chance is 0.5. Absent: the 95% Wilson interval holds 0.5; present: its lower end "
         "is above.</p><ul>\n" + text + "</ul>\n";
}

}  // namespace

std::vector<LossPoint> loss_points(const std::vector<json>& points) {
  // With several learning rates (sweep.json's "lrs") a size and budget has several runs; the
  // law is about the best of them, a tuned run, as Kaplan's and Hoffmann's are.
  std::map<std::pair<std::string, double>, LossPoint> best;  // (the size the run is a variant of, D)
  for (const auto& p : points) {
    const std::string family = p.value("family", p.value("size", p.value("name", std::string())));
    const LossPoint q{p["N"].get<double>(), p["D"].get<double>(), p["val_loss"].get<double>()};
    auto [it, fresh] = best.try_emplace({family, q.D}, q);
    if (!fresh && q.L < it->second.L) it->second = q;
  }
  std::vector<LossPoint> out;
  for (const auto& [key, q] : best) out.push_back(q);
  std::sort(out.begin(), out.end(), [](const LossPoint& a, const LossPoint& b) { return std::tie(a.N, a.D) < std::tie(b.N, b.D); });
  return out;
}

json fit_lr_rule(const std::vector<json>& points) {
  std::map<double, std::vector<const json*>> by_n;  // each size's runs at its largest budget
  for (const auto& p : points) {
    auto& v = by_n[p["N"].get<double>()];
    if (!v.empty() && p["D"].get<double>() > (*v.front())["D"].get<double>()) v.clear();
    if (v.empty() || p["D"].get<double>() == (*v.front())["D"].get<double>()) v.push_back(&p);
  }
  json sizes = json::array();
  for (auto& [N, runs] : by_n) {
    std::vector<std::pair<double, double>> lr_loss;  // (log lr, loss)
    for (const json* p : runs)
      if (p->contains("lr")) lr_loss.push_back({std::log((*p)["lr"].get<double>()), (*p)["val_loss"].get<double>()});
    std::sort(lr_loss.begin(), lr_loss.end());
    if (lr_loss.size() < 2) continue;
    size_t i = 0;
    for (size_t k = 1; k < lr_loss.size(); ++k)
      if (lr_loss[k].second < lr_loss[i].second) i = k;
    double x = lr_loss[i].first;
    const bool edge = i == 0 || i + 1 == lr_loss.size();
    if (!edge) {  // the vertex of the parabola through the best and its neighbours, in log lr
      const auto [x0, y0] = lr_loss[i - 1];
      const auto [x1, y1] = lr_loss[i];
      const auto [x2, y2] = lr_loss[i + 1];
      const double d1 = (y1 - y0) / (x1 - x0), d2 = (y2 - y1) / (x2 - x1), c = (d2 - d1) / (x2 - x0);
      if (c > 0) x = std::clamp(0.5 * (x0 + x1) - d1 / (2 * c), x0, x2);
    }
    sizes.push_back({{"N", N}, {"lr", std::exp(x)}, {"tried", lr_loss.size()}, {"at_edge", edge},
                     {"D", (*runs.front())["D"].get<double>()}});
  }
  if (sizes.empty()) return nullptr;
  // log lr* = a + b log N, least squares over the sizes whose best rate was bracketed: at the
  // edge of the rates tried, the best is only known to lie at or beyond it.
  double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0;
  for (const auto& z : sizes) {
    if (z["at_edge"].get<bool>()) continue;
    const double x = std::log(z["N"].get<double>()), y = std::log(z["lr"].get<double>());
    sx += x, sy += y, sxx += x * x, sxy += x * y, n += 1;
  }
  json rule = {{"sizes", sizes}, {"fitted_on", int(n)}};
  if (n < 2) return rule;  // no rule: fewer than two sizes with a measured best rate
  const double b = (n * sxy - sx * sy) / (n * sxx - sx * sx), a = (sy - b * sx) / n;
  rule["a"] = a, rule["b"] = b;
  return rule;
}

double lr_from_rule(const json& rule, double N) { return std::exp(rule["a"].get<double>() + rule["b"].get<double>() * std::log(N)); }

std::vector<LossPoint> per_size_best(const std::vector<LossPoint>& pts) {
  std::map<double, LossPoint> best;
  for (const auto& p : pts)
    if (!best.count(p.N) || p.D > best[p.N].D) best[p.N] = p;
  std::vector<LossPoint> out;
  for (auto& [n, p] : best) out.push_back(p);
  return out;
}

std::vector<LossPoint> envelope_by_tokens(const std::vector<LossPoint>& pts) {
  std::map<double, LossPoint> best;
  for (const auto& p : pts)
    if (!best.count(p.D) || p.L < best[p.D].L) best[p.D] = p;
  std::vector<LossPoint> out;
  for (auto& [d, p] : best) out.push_back(p);
  return out;
}

json analyze_sweep(const AnalysisOptions& opt) {
  auto points = read_points(opt.dir);
  if (points.empty()) throw Error("no finished sweep points (runs/*/point.json): run slm scaling sweep first", opt.dir);
  json left_out = json::array();
  std::vector<json> fitted;
  for (const auto& p : points) {
    if (opt.min_steps > 0 && !p.contains("steps"))
      throw Error("has no 'steps' field, so --min-steps cannot judge it (a point from an older slm; refit without --min-steps)",
                  "runs/" + p["name"].get<std::string>() + "/point.json");
    if (p.value("steps", int64_t(0)) < opt.min_steps)
      left_out.push_back(p["name"]);
    else
      fitted.push_back(p);
  }
  if (fitted.empty())
    throw Error(fmt::format("every run has fewer than --min-steps {} optimizer steps: nothing left to fit", opt.min_steps), opt.dir);
  auto pts = loss_points(fitted);
  FitOptions fo;
  json fit;
  fit["points"] = pts.size();
  fit["runs"] = fitted.size();
  fit["level"] = opt.level;
  fit["bootstrap"] = opt.bootstrap;
  fit["min_steps"] = opt.min_steps;
  fit["left_out"] = left_out;
  fit["joint"] = fit_with_ci(pts, LawForm::joint, opt, fo);
  auto nb = per_size_best(pts), db = envelope_by_tokens(pts);
  if (nb.size() >= 3) fit["n_only"] = fit_with_ci(nb, LawForm::n_only, opt, fo);
  if (db.size() >= 3) fit["d_only"] = fit_with_ci(db, LawForm::d_only, opt, fo);
  std::vector<double> budgets = opt.budgets;
  if (budgets.empty()) {  // the sweep's own range of compute, and ten times past it
    double lo = INFINITY, hi = 0;
    for (const auto& p : pts) lo = std::min(lo, 6 * p.N * p.D), hi = std::max(hi, 6 * p.N * p.D);
    budgets = {lo, std::sqrt(lo * hi), hi, 10 * hi};
  }
  const LawFit joint = fit_from_json(fit["joint"]);
  json opt_j = json::array();
  for (double C : budgets) {
    auto a = compute_optimal(joint, C);
    opt_j.push_back({{"C", C}, {"N", a.N}, {"D", a.D}, {"L", a.L}, {"tokens_per_param", a.N > 0 ? a.D / a.N : 0}});
  }
  fit["compute_optimal"] = opt_j;
  if (json rule = fit_lr_rule(fitted); !rule.is_null()) fit["lr_rule"] = rule;
  write_file_atomic((fs::path(opt.dir) / "fit.json").string(), fit.dump(2) + "\n");
  write_scaling_report(opt.dir);
  return fit;
}

std::string fit_summary(const json& fit) {
  const int points = fit["points"].get<int>(), runs = fit.value("runs", points);
  std::string s = fmt::format("{}; {:.0f}% bootstrap intervals from {} resamples\n",
                              runs == points ? fmt::format("{} runs", runs)
                                             : fmt::format("{} points, each the best learning rate of its size and budget "
                                                           "({} runs)", points, runs),
                              100 * fit["level"].get<double>(), fit["bootstrap"].get<int>());
  if (fit.contains("left_out") && !fit["left_out"].empty()) {
    std::string names;
    for (const auto& n : fit["left_out"]) names += (names.empty() ? "" : ", ") + n.get<std::string>();
    s += fmt::format("left out (under {} optimizer steps): {}\n", fit["min_steps"].get<int64_t>(), names);
  }
  const auto& j = fit["joint"];
  s += fmt::format("L(N, D) = E + A/N^alpha + B/D^beta:\n  E = {}\n  A = {}, alpha = {}\n  B = {}, beta = {}\n",
                   with_ci(j, "E"), with_ci(j, "A"), with_ci(j, "alpha"), with_ci(j, "B"), with_ci(j, "beta"));
  if (fit.contains("n_only"))
    s += fmt::format("L(N) = E + A/N^alpha ({} sizes, each at its largest budget): E = {}, A = {}, alpha = {}\n",
                     fit["n_only"]["points"].get<int>(), with_ci(fit["n_only"], "E"), with_ci(fit["n_only"], "A"),
                     with_ci(fit["n_only"], "alpha"));
  if (fit.contains("d_only"))
    s += fmt::format("L(D) = E + B/D^beta ({} budgets, the best size at each{}): E = {}, B = {}, beta = {}\n",
                     fit["d_only"]["points"].get<int>(), fit["d_only"].contains("ci") ? "" : "; as many points as parameters: no interval",
                     with_ci(fit["d_only"], "E"), with_ci(fit["d_only"], "B"),
                     with_ci(fit["d_only"], "beta"));
  s += "compute-optimal (C = 6 N D):\n";
  for (const auto& a : fit["compute_optimal"])
    s += fmt::format("  C = {:.3g} FLOPs: N = {:.3g}, D = {:.3g} ({:.1f} tokens a parameter), predicted loss {:.4f}\n",
                     a["C"].get<double>(), a["N"].get<double>(), a["D"].get<double>(), a["tokens_per_param"].get<double>(),
                     a["L"].get<double>());
  if (fit.contains("lr_rule")) {
    const auto& r = fit["lr_rule"];
    s += r.contains("a") ? fmt::format("best learning rate (each size's largest budget): lr* = {:.3g} N^{:.3f}, fitted to "
                                       "the {} sizes whose best rate lies between two tried\n",
                                       std::exp(r["a"].get<double>()), r["b"].get<double>(), r["fitted_on"].get<int>())
                         : std::string("best learning rate (each size's largest budget): no rule, fewer than two sizes "
                                       "have their best rate between two tried\n");
    for (const auto& z : r["sizes"])
      s += fmt::format("  N = {:.3g}: {:.3g}{}\n", z["N"].get<double>(), z["lr"].get<double>(),
                       z["at_edge"].get<bool>() ? " (the edge of the rates tried: left out of the rule)" : "");
  }
  return s;
}

namespace {

// A config without the fields a second held-out test may change.
json grid_part(json j) {
  j.erase("holdout");
  j.erase("description");
  return j;
}

// The L(N) law's prediction for a held-out model at budget D: only when every point that
// law was fitted to (each size's largest budget) has that budget, otherwise null.
json n_only_prediction(const json& fit, const std::vector<json>& points, double N, double D) {
  if (!fit.contains("n_only")) return nullptr;
  const json left_out = fit.value("left_out", json::array());  // the fit's own record of what it left out
  std::vector<json> fitted;
  for (const auto& p : points)
    if (std::find(left_out.begin(), left_out.end(), p["name"]) == left_out.end()) fitted.push_back(p);
  for (const auto& q : per_size_best(loss_points(fitted)))
    if (std::abs(q.D - D) > 1e-6 * D) return nullptr;
  return fit_from_json(fit["n_only"]).predict(N, D);
}

}  // namespace

json run_holdout(const SweepOptions& opt_in) {
  SweepOptions opt = opt_in;
  const auto fit_path = fs::path(opt.out_dir) / "fit.json";
  if (!fs::exists(fit_path)) throw Error("no fit.json: run slm scaling fit first (the prediction must come before the run)", opt.out_dir);
  const auto recorded = fs::path(opt.out_dir) / "sweep.json";
  if (opt.config.empty()) opt.config = recorded.string();
  SweepConfig c = SweepConfig::load(opt.config);
  if (!c.has_holdout) throw Error("the sweep config has no 'holdout' section (a larger size and its tokens)", opt.config);
  if (fs::exists(recorded)) {
    const json was = grid_part(json::parse(read_file(recorded.string()))), now = grid_part(c.source);
    std::string differ;
    for (const auto& src : {was, now})
      for (const auto& [k, v] : src.items())
        if (was.value(k, json()) != now.value(k, json()) && differ.find("'" + k + "'") == std::string::npos)
          differ += (differ.empty() ? "'" : ", '") + k + "'";
    if (!differ.empty())
      throw Error("this config's " + differ + " differ from the sweep folder's (" + recorded.string() +
                      "); a held-out test may change only 'holdout' and 'description'",
                  opt.config);
  }
  json meta = json::parse(read_file((fs::path(opt.data_dir) / "meta.json").string()), nullptr, false);
  if (!meta.is_object() || !meta.contains("vocab_size")) throw Error("no meta.json with vocab_size", opt.data_dir);
  GridPoint p;
  p.size = c.holdout;
  p.size.model.vocab_size = meta["vocab_size"].get<int>();
  p.size.model.validate(opt.config + ": holdout.size");
  p.N = non_embedding_params(p.size.model);
  const json fit = json::parse(read_file(fit_path.string()));
  // Its learning rate: its own "lr", else the sweep's rule for the best one at its N, else the train section's.
  if (!(p.size.lr > 0) && fit.contains("lr_rule") && fit["lr_rule"].contains("a")) {
    p.size.lr = lr_from_rule(fit["lr_rule"], double(p.N));
    if (!(p.size.lr > 0 && p.size.lr <= 1))
      throw Error(fmt::format("the rule gives the held-out model a learning rate of {:.3g}; give holdout.size an 'lr'", p.size.lr),
                  fit_path.string());
  } else if (!(p.size.lr > 0) && !c.lrs.empty()) {
    throw Error("the sweep tries several learning rates but fit.json has no rule for the best one (it needs two sizes "
                "whose best rate lies between two others tried); widen 'lrs' or give holdout.size an 'lr'",
                fit_path.string());
  }
  const int64_t tps = int64_t(c.train.batch_size) * c.train.grad_accum * p.size.model.context;
  p.steps = std::max<int64_t>(1, int64_t(std::ceil(c.holdout_tokens / double(tps))));
  p.tokens = double(p.steps * tps);
  p.name = p.size.name;
  p.abilities = true;
  const auto points = read_points(opt.out_dir);
  const double predicted = fit_from_json(fit["joint"]).predict(double(p.N), p.tokens);
  const json predicted_n = n_only_prediction(fit, points, double(p.N), p.tokens);
  int64_t largest = 0;
  for (const auto& q : points) largest = std::max(largest, q["N"].get<int64_t>());
  const double lr = point_train_config(c, p).lr;
  if (!opt.quiet)  // said before the run, so the log shows the prediction came first
    fmt::print(stderr, "held-out {} (N = {}, D = {:.4g}, lr {:.3g}): the joint law predicts {:.4f}{}\n", p.name, p.N, p.tokens,
               lr, predicted,
               predicted_n.is_null() ? "" : fmt::format(", L(N) at this budget {:.4f}", predicted_n.get<double>()));
  const std::string dir = (fs::path(opt.out_dir) / "holdout" / p.name).string();
  // The run this name stands for, recorded when it starts: a finished run is measured again and
  // an interrupted one resumed, so neither may be another size, budget or learning rate.
  const json intended = {{"D", p.tokens}, {"model", p.size.model.to_json()}, {"lr", lr}};
  const auto record = fs::path(dir) / "intended.json", earlier = fs::path(dir) / "point.json";
  json was;
  if (fs::exists(record))
    was = json::parse(read_file(record.string()));
  else if (fs::exists(earlier)) {  // a folder from before intended.json
    const json e = json::parse(read_file(earlier.string()));
    was = {{"D", e.value("D", 0.0)}, {"model", e.value("model", json())}, {"lr", e.value("lr", c.train.lr)}};
  }
  if (!was.is_null())
    for (const char* k : {"D", "model", "lr"})
      if (was[k] != intended[k])
        throw Error(fmt::format("holds a held-out run with another {} ({} there, {} now) under this name; give the new "
                                "held-out model another name",
                                k, was[k].dump(), intended[k].dump()),
                    dir);
  fs::create_directories(dir);
  write_file_atomic(record.string(), intended.dump(2) + "\n");
  bool resumed = false;
  if (!run_point(p, c, opt, dir, resumed)) return nullptr;
  json pt = json::parse(read_file((fs::path(dir) / "point.json").string()));
  const double observed = pt["val_loss"].get<double>();
  json h = {{"name", p.name}, {"N", p.N}, {"D", p.tokens}, {"largest_fitted_N", largest}, {"predicted", predicted},
            {"observed", observed}, {"relative_error", (observed - predicted) / observed},
            {"within_2_percent", std::abs(observed - predicted) / observed <= 0.02},
            {"fit_min_steps", fit.value("min_steps", int64_t(0))}, {"lr", lr}};
  if (!predicted_n.is_null()) {
    const double pn = predicted_n.get<double>();
    h["predicted_n_only"] = pn;
    h["n_only_relative_error"] = (observed - pn) / observed;
  }
  write_file_atomic((fs::path(dir) / "result.json").string(), h.dump(2) + "\n");
  write_file_atomic((fs::path(opt.out_dir) / "holdout.json").string(), h.dump(2) + "\n");
  write_scaling_report(opt.out_dir);
  return h;
}

std::vector<json> read_holdouts(const std::string& dir) {
  std::vector<json> out;
  const auto root = fs::path(dir) / "holdout";
  if (fs::is_directory(root))
    for (const auto& e : fs::directory_iterator(root))
      if (fs::exists(e.path() / "result.json")) out.push_back(json::parse(read_file((e.path() / "result.json").string())));
  if (fs::exists(fs::path(dir) / "holdout.json")) {  // the latest; in a folder from before result.json, the only record
    json latest = json::parse(read_file((fs::path(dir) / "holdout.json").string()));
    if (std::none_of(out.begin(), out.end(), [&](const json& h) { return h["name"] == latest["name"]; }))
      out.push_back(latest);
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["N"].get<double>() < b["N"].get<double>(); });
  return out;
}

std::string write_scaling_report(const std::string& dir) {
  auto points = read_points(dir);
  auto pts = loss_points(points);
  json fit = json::object();
  if (fs::exists(fs::path(dir) / "fit.json")) fit = json::parse(read_file((fs::path(dir) / "fit.json").string()));
  const auto holdouts = read_holdouts(dir);
  std::vector<json> holdout_points;  // their point.json (abilities)
  for (const auto& h : holdouts) {
    const auto f = fs::path(dir) / "holdout" / h["name"].get<std::string>() / "point.json";
    if (fs::exists(f)) holdout_points.push_back(json::parse(read_file(f.string())));
  }
  std::vector<std::pair<std::string, std::string>> charts;  // (file name, svg)
  const auto Ns = distinct(pts, &LossPoint::N), Ds = distinct(pts, &LossPoint::D);
  double nlo = Ns.empty() ? 1 : Ns.front(), nhi = Ns.empty() ? 10 : Ns.back(), dlo = Ds.empty() ? 1 : Ds.front(),
         dhi = Ds.empty() ? 10 : Ds.back();
  for (const auto& h : holdouts) nhi = std::max(nhi, h["N"].get<double>()), dhi = std::max(dhi, h["D"].get<double>());
  const bool have_joint = fit.contains("joint");
  const LawFit joint = have_joint ? fit_from_json(fit["joint"]) : LawFit{};
  // Loss against N: a series per budget D (few distinct budgets) and the law at each D.
  {
    std::vector<PlotSeries> s;
    const bool few = Ds.size() <= 6;
    if (few) {
      for (size_t i = 0; i < Ds.size(); ++i) {
        PlotSeries ps{fmt::format("D = {:.3g}", Ds[i]), int(i), {}, false, true, false};
        for (const auto& p : pts)
          if (p.D == Ds[i]) ps.points.push_back({p.N, p.L});
        s.push_back(ps);
        if (have_joint) s.push_back(law_curve(joint, nlo, nhi, true, Ds[i], "law at that D", int(i)));
      }
    } else {
      PlotSeries ps{"runs", 0, {}, false, true, false};
      for (const auto& p : pts) ps.points.push_back({p.N, p.L});
      s.push_back(ps);
    }
    if (fit.contains("n_only")) s.push_back(law_curve(fit_from_json(fit["n_only"]), nlo, nhi, true, 1, "L(N) fit", 7));
    if (!holdouts.empty()) {
      PlotSeries seen{"held-out: observed", 3, {}, false, true, false}, said{"held-out: predicted", 7, {}, false, true, false};
      for (const auto& h : holdouts) {
        seen.points.push_back({h["N"].get<double>(), h["observed"].get<double>()});
        said.points.push_back({h["N"].get<double>(), h["predicted"].get<double>()});
      }
      s.push_back(seen);
      s.push_back(said);
    }
    charts.push_back({"loss_vs_params", svg_plot({"validation loss against model size", "non-embedding parameters N",
                                                  "validation loss", true, true}, s)});
  }
  // Loss against D: a series per size and the law at each size.
  {
    std::vector<PlotSeries> s;
    for (size_t i = 0; i < Ns.size() && Ns.size() <= 8; ++i) {
      PlotSeries ps{fmt::format("N = {:.3g}", Ns[i]), int(i), {}, false, true, false};
      for (const auto& p : pts)
        if (p.N == Ns[i]) ps.points.push_back({p.D, p.L});
      s.push_back(ps);
      if (have_joint) {
        auto c = law_curve(joint, dlo, dhi, false, Ns[i], "", int(i));
        c.name = "law at that N";
        s.push_back(c);
      }
    }
    if (fit.contains("d_only")) s.push_back(law_curve(fit_from_json(fit["d_only"]), dlo, dhi, false, 1, "L(D) fit", 7));
    charts.push_back({"loss_vs_tokens", svg_plot({"validation loss against training tokens", "training tokens D",
                                                  "validation loss", true, true}, s)});
  }
  // Learning rates: each size's loss against its peak rate at its largest budget.
  if (fit.contains("lr_rule")) {
    std::vector<PlotSeries> s;
    int i = 0;
    for (const auto& z : fit["lr_rule"]["sizes"]) {
      PlotSeries ps{fmt::format("N = {:.3g}", z["N"].get<double>()), i++, {}, true, true, false};
      for (const auto& p : points)
        if (p.contains("lr") && p["N"].get<double>() == z["N"].get<double>() && p["D"].get<double>() == z["D"].get<double>())
          ps.points.push_back({p["lr"].get<double>(), p["val_loss"].get<double>()});
      std::sort(ps.points.begin(), ps.points.end(), [](const auto& a, const auto& b) { return a.x < b.x; });
      s.push_back(ps);
    }
    charts.push_back({"loss_vs_lr", svg_plot({"validation loss against peak learning rate (each size's largest budget)",
                                              "peak learning rate", "validation loss", true, false}, s)});
  }
  // IsoFLOP curves: the joint law along N at fixed compute, with the optimum marked.
  if (have_joint && fit.contains("compute_optimal")) {
    std::vector<PlotSeries> s;
    PlotSeries opt_pts{"compute-optimal N", 7, {}, true, true, false};
    int i = 0;
    for (const auto& a : fit["compute_optimal"]) {
      const double C = a["C"].get<double>();
      PlotSeries c{fmt::format("C = {:.2g} FLOPs", C), i++, {}, true, false, false};
      for (int k = 0; k <= 60; ++k) {
        double N = nlo / 10 * std::pow(nhi * 100 / nlo, k / 60.0);
        c.points.push_back({N, joint.predict(N, C / (6 * N))});
      }
      s.push_back(c);
      if (a["N"].get<double>() > 0) opt_pts.points.push_back({a["N"].get<double>(), a["L"].get<double>()});
    }
    double ymin = INFINITY, ymax = 0;
    for (const auto& p : pts) ymin = std::min(ymin, p.L), ymax = std::max(ymax, p.L);
    for (const auto& p : opt_pts.points) ymin = std::min(ymin, p.y);
    s.push_back(opt_pts);
    charts.push_back({"isoflop", svg_plot({"IsoFLOP curves of the fitted law (D = C / 6N)", "non-embedding parameters N",
                                           "predicted loss", true, true, ymin * 0.9, ymax * 1.1}, s)});
  }
  // Emergence: accuracy against size (at each K) and against K (for each size), per task.
  std::vector<json> ab_points;
  for (const auto& p : points)
    if (p.contains("abilities")) ab_points.push_back(p);
  for (const auto& h : holdout_points)
    if (h.contains("abilities")) ab_points.push_back(h);
  std::sort(ab_points.begin(), ab_points.end(), [](const json& a, const json& b) { return a["N"].get<double>() < b["N"].get<double>(); });
  std::vector<std::string> tasks;
  std::vector<int> ks;
  for (const auto& p : ab_points)
    for (const auto& t : p["abilities"]) {
      auto task = t["task"].get<std::string>();
      if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
      int k = t["k"].get<int>();
      if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
    }
  std::sort(ks.begin(), ks.end());
  std::string emergence_rows;
  std::set<std::string> zero_shot_only;
  for (const auto& task : tasks) {
    std::vector<PlotSeries> by_size, by_k;
    double chance = 0;
    for (size_t ki = 0; ki < ks.size(); ++ki) {
      PlotSeries s{fmt::format("K = {}", ks[ki]), int(ki), {}, true, true, false};
      for (const auto& p : ab_points)
        for (const auto& t : p["abilities"])
          if (t["task"] == task && t["k"] == ks[ki])
            s.points.push_back({p["N"].get<double>(), t["acc"].get<double>(), t["lo"].get<double>(), t["hi"].get<double>()}),
                chance = t["chance"].get<double>();
      by_size.push_back(s);
    }
    by_size.push_back({"chance", 7, {{nlo, chance}, {nhi, chance}}, true, false, true});
    for (size_t pi = 0; pi < ab_points.size(); ++pi) {
      const auto& p = ab_points[pi];
      PlotSeries s{fmt::format("{} (N = {:.3g})", p["size"].get<std::string>(), p["N"].get<double>()), int(pi), {}, true, true, false};
      std::vector<TaskScore> scores;
      for (const auto& t : p["abilities"]) {
        if (t["task"] != task) continue;
        scores.push_back(TaskScore::from_json(t));
        s.points.push_back({t["k"].get<double>(), t["acc"].get<double>(), t["lo"].get<double>(), t["hi"].get<double>()});
      }
      by_k.push_back(s);
      if (scores.empty()) continue;
      const int first = first_k_beating_zero(scores, task);
      std::string cells;
      for (int k : ks) {  // a zero-shot-only task (the minimal pairs) leaves the other columns empty
        auto t = std::find_if(scores.begin(), scores.end(), [&](const TaskScore& x) { return x.k == k; });
        cells += t == scores.end() ? "<td></td>"
                                   : fmt::format("<td>{:.2f} [{:.2f}, {:.2f}]{}</td>", t->acc.p, t->acc.lo, t->acc.hi,
                                                 t->acc.lo > t->chance ? " &#10003;" : "");
      }
      emergence_rows += fmt::format("<tr><td>{}</td><td>{}</td><td>{:.3g}</td>{}<td>{}</td></tr>\n", html_esc(task),
                                    html_esc(p["size"].get<std::string>()), p["N"].get<double>(), cells,
                                    scores.size() < 2 ? "" : first < 0 ? "never" : fmt::format("K = {}", first));
      if (scores.size() == 1 && scores[0].k == 0) zero_shot_only.insert(task);
    }
    // Drop the K values a task was not measured at (the minimal pairs are zero-shot only).
    by_size.erase(std::remove_if(by_size.begin(), by_size.end(), [](const PlotSeries& x) { return x.points.empty() && x.line && x.dots; }),
                  by_size.end());
    charts.push_back({"acc_vs_size_" + task, svg_plot({task + ": accuracy against size", "non-embedding parameters N",
                                                       "accuracy (95% Wilson interval)", true, false, 0, 1}, by_size)});
    if (!zero_shot_only.count(task))
      charts.push_back({"acc_vs_k_" + task, svg_plot({task + ": accuracy against shots", "shots K", "accuracy", false, false, 0, 1},
                                                     by_k)});
  }
  const std::string grammar_summary = minimal_pairs_summary(ab_points, nlo, nhi, charts);
  // Induction heads along training: one line per run of the largest budget of each size.
  {
    std::vector<PlotSeries> s;
    int i = 0;
    std::vector<json> runs = ab_points;
    for (const auto& p : runs) {
      if (!p.contains("induction")) continue;
      PlotSeries ps{fmt::format("{} (N = {:.3g})", p["size"].get<std::string>(), p["N"].get<double>()), i++, {}, true, true, false};
      for (const auto& q : p["induction"]) ps.points.push_back({q["tokens"].get<double>(), q["score"].get<double>()});
      s.push_back(ps);
    }
    if (!s.empty())
      charts.push_back({"induction", svg_plot({"induction heads: best head's prefix-matching score", "training tokens",
                                               "prefix-matching score", true, false, 0, 1}, s)});
  }
  // The page.
  fs::create_directories(fs::path(dir) / "plots");
  std::string html =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>slm scaling report</title><style>"
      "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;font-size:13px}"
      "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f4f4f4}svg{display:block;margin:1em 0}"
      "</style></head><body><h1>Scaling laws and emergent abilities</h1>\n";
  if (!points.empty() && points[0].contains("schedule")) {
    const std::string schedule = points[0]["schedule"].get<std::string>();
    html += fmt::format("<p>{} runs; learning-rate schedule: {}{}.</p>\n", points.size(), html_esc(schedule),
                        schedule == "wsd" ? " (each size's shorter budgets branch off its longest run where their decay starts)"
                                          : " (each run's own, ending at its budget)");
  }
  if (have_joint)
    html += "<h2>Fitted laws</h2><pre>" + html_esc(fit_summary(fit)) + "</pre>\n";
  if (!holdouts.empty()) html += "<h2>Held-out larger models</h2>\n";
  for (const auto& h : holdouts) {
    html += fmt::format("<p>{} (N = {}, D = {:.3g}; the largest fitted N was {}): the joint law predicted loss {:.4f}, "
                        "observed {:.4f}, error {:+.2f}% ({} 2%)",
                        html_esc(h["name"].get<std::string>()), h["N"].get<int64_t>(), h["D"].get<double>(),
                        h["largest_fitted_N"].get<int64_t>(), h["predicted"].get<double>(), h["observed"].get<double>(),
                        100 * h["relative_error"].get<double>(), h["within_2_percent"].get<bool>() ? "within" : "outside");
    if (h.contains("predicted_n_only"))
      html += fmt::format("; L(N) at this budget predicted {:.4f}, error {:+.2f}%", h["predicted_n_only"].get<double>(),
                          100 * h["n_only_relative_error"].get<double>());
    // The predictions are the fit's when the run started; a later refit does not change them.
    html += fmt::format(". Predicted by the fit as it stood when the run started{}{}.</p>\n",
                        h.value("fit_min_steps", int64_t(0)) > 0 ? fmt::format(" (--min-steps {})", h["fit_min_steps"].get<int64_t>()) : "",
                        h.contains("lr") ? fmt::format("; trained at lr {:.3g}", h["lr"].get<double>()) : "");
  }
  html += "<h2>Runs</h2><table><tr><th>run</th><th>N</th><th>D</th><th>C = 6ND</th><th>val loss</th><th>law</th><th>induction</th></tr>\n";
  const json left_out = fit.value("left_out", json::array());
  for (const auto& p : points) {
    const double N = p["N"].get<double>(), D = p["D"].get<double>();
    const bool out = std::find(left_out.begin(), left_out.end(), p["name"]) != left_out.end();
    html += fmt::format("<tr><td>{}{}</td><td>{}</td><td>{:.3g}</td><td>{:.3g}</td><td>{:.4f}</td><td>{}</td><td>{}</td></tr>\n",
                        html_esc(p["name"].get<std::string>()), out ? " (left out of the fit)" : "", int64_t(N), D, 6 * N * D,
                        p["val_loss"].get<double>(),
                        have_joint ? fmt::format("{:.4f}", joint.predict(N, D)) : "",
                        p.contains("induction") ? fmt::format("{:.3f}", p["induction"].back()["score"].get<double>()) : "");
  }
  html += "</table>\n";
  if (!emergence_rows.empty()) {
    html += "<h2>Few-shot abilities</h2><p>Accuracy [95% Wilson interval] at each K; &#10003;: above chance by more than "
            "its interval. Last column: the smallest K whose accuracy beats zero-shot by more than the difference's 95% "
            "interval (Newcombe).</p><table><tr><th>task</th><th>size</th><th>N</th>";
    for (int k : ks) html += fmt::format("<th>K = {}</th>", k);
    html += "<th>K beats 0-shot</th></tr>\n" + emergence_rows + "</table>\n";
  }
  html += grammar_summary;
  html += "<h2>Charts</h2>\n";
  std::vector<std::string> svg_files;
  for (const auto& [name, svg] : charts) {
    svg_files.push_back((fs::path(dir) / "plots" / (name + ".svg")).string());
    write_file_atomic(svg_files.back(), svg);
    html += svg;
  }
  // A PNG beside each SVG, for places that show no SVG (slides, chat, some viewers).
  const std::string why = svgs_to_png(svg_files);
  if (!why.empty()) fmt::print(stderr, "warning: no PNG copies of the charts: {}\n", why);
  html += "</body></html>\n";
  const std::string path = (fs::path(dir) / "report.html").string();
  write_file_atomic(path, html);
  return path;
}

}  // namespace slm::scaling
