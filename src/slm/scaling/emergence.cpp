#include "slm/scaling/emergence.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "slm/eval/multiple_choice.h"
#include "slm/model/model_files.h"
#include "slm/scaling/induction.h"
#include "slm/scaling/context_tasks.h"
#include "slm/scaling/minimal_pairs.h"
#include "slm/util/progress.h"

namespace slm::scaling {

using nlohmann::json;

Proportion wilson(double s, int n, double z) {
  if (n <= 0) return {0, 0, 1};
  const double p = s / n, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
  return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Proportion newcombe_difference(const Proportion& a, const Proportion& b) {
  const double d = a.p - b.p;
  return {d, d - std::sqrt((a.p - a.lo) * (a.p - a.lo) + (b.hi - b.p) * (b.hi - b.p)),
          d + std::sqrt((a.hi - a.p) * (a.hi - a.p) + (b.p - b.lo) * (b.p - b.lo))};
}

json TaskScore::to_json() const {
  return {{"task", task}, {"k", k}, {"n", n}, {"chance", chance}, {"acc", acc.p}, {"lo", acc.lo}, {"hi", acc.hi}};
}

TaskScore TaskScore::from_json(const json& j) {
  TaskScore t;
  t.task = j.at("task").get<std::string>();
  t.k = j.at("k").get<int>();
  t.n = j.at("n").get<int>();
  t.chance = j.at("chance").get<double>();
  t.acc = {j.at("acc").get<double>(), j.at("lo").get<double>(), j.at("hi").get<double>()};
  return t;
}

namespace {

// The items of each task, by name, in a stable order.
std::vector<std::pair<std::string, std::vector<eval::McItem>>> by_task(const std::vector<eval::McItem>& items) {
  std::vector<std::pair<std::string, std::vector<eval::McItem>>> out;
  for (const auto& it : items) {
    auto f = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == it.task; });
    if (f == out.end()) out.push_back({it.task, {}}), f = out.end() - 1;
    f->second.push_back(it);
  }
  return out;
}

const TaskScore* find(const std::vector<TaskScore>& s, const std::string& task, int k) {
  for (const auto& t : s)
    if (t.task == task && t.k == k) return &t;
  return nullptr;
}

// The context tasks (and the built-in story tasks) at every K of spec.
std::vector<TaskScore> few_shot_abilities(model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                          const EvalSpec& spec, uint64_t seed, bool quiet) {
  std::vector<TaskScore> out;
  if (spec.items <= 0) return out;
  auto items = context_tasks(spec.items, seed);
  auto shots = context_tasks(spec.items, seed + 1000003);
  if (spec.builtin_tasks) {
    auto b = eval::builtin_mc_tasks(spec.items, seed);
    auto bs = eval::builtin_mc_tasks(spec.items, seed + 1000003);
    items.insert(items.end(), b.begin(), b.end());
    shots.insert(shots.end(), bs.begin(), bs.end());
  }
  auto tasks = by_task(items);
  Progress bar("few-shot", double(tasks.size() * spec.ks.size()), "tasks", quiet);
  for (const auto& [task, its] : tasks) {
    double choices = 0;
    for (const auto& it : its) choices += double(it.choices.size());
    for (int k : spec.ks) {
      auto r = eval::score_mc(m, tok, its, shots, k, seed);
      TaskScore t;
      t.task = task, t.k = k, t.n = r.n;
      t.chance = double(its.size()) / choices;
      t.acc = wilson(int(std::lround(r.acc * r.n)), r.n);
      out.push_back(t);
      bar.update(double(out.size()));
    }
  }
  bar.finish();
  return out;
}

}  // namespace

std::vector<TaskScore> evaluate_abilities(model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                          const EvalSpec& spec, uint64_t seed, bool quiet) {
  std::vector<TaskScore> out = few_shot_abilities(m, tok, spec, seed, quiet);
  if (spec.pairs > 0) {
    auto g = score_minimal_pairs(minimal_pairs(spec.pairs, seed), model_pair_scorer(m, tok));
    out.insert(out.end(), g.begin(), g.end());
  }
  return out;
}

json model_abilities(const std::string& model_dir, const EvalSpec& spec, uint64_t seed, bool quiet) {
  auto lm = model::load_model_and_tokenizer(model_dir);
  auto& m = *lm.model;
  json out = {{"model", model_dir}, {"params", m.num_params()}, {"N", non_embedding_params(m.config())}};
  json ab = json::array();
  for (const auto& t : evaluate_abilities(m, *lm.tok, spec, seed, quiet)) ab.push_back(t.to_json());
  out["abilities"] = ab;
  if (spec.induction_windows > 0) {
    out["induction"] = induction_record(m, spec.induction_length, spec.induction_windows, int(lm.tok->eot()), seed);
  }
  return out;
}

int first_k_beating_zero(const std::vector<TaskScore>& scores, const std::string& task) {
  const TaskScore* zero = find(scores, task, 0);
  if (!zero) return -1;
  int best = -1;
  for (const auto& t : scores)
    if (t.task == task && t.k > 0 && newcombe_difference(t.acc, zero->acc).lo > 0 && (best < 0 || t.k < best)) best = t.k;
  return best;
}

bool above_chance(const std::vector<TaskScore>& scores, const std::string& task, int k) {
  const TaskScore* t = find(scores, task, k);
  return t && t->acc.lo > t->chance;
}

}  // namespace slm::scaling
