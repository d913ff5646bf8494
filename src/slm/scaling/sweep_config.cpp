#include "slm/scaling/sweep_config.h"

#include <fmt/format.h>

#include <set>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"

namespace slm::scaling {

using nlohmann::json;

namespace {

// Refuses a key of an object that is none of `names`, naming SECTION.KEY and the nearest name.
void check_keys(const json& j, const std::string& section, const std::vector<std::string>& names,
                const std::string& origin) {
  if (!j.is_object()) throw Error("'" + section + "' must be a JSON object", origin);
  for (const auto& [k, v] : j.items())
    if (std::find(names.begin(), names.end(), k) == names.end())
      throw Error(unknown_field_message(k, section, names), origin);
}

template <class T>
T get(const json& j, const std::string& key, const std::string& field, const std::string& origin) {
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error(fmt::format("'{}' has the wrong type", field), origin);
  }
}

std::vector<double> positive_list(const json& j, const std::string& field, const std::string& origin) {
  if (!j.is_array() || j.empty()) throw Error(fmt::format("'{}' must be a non-empty array of numbers", field), origin);
  std::vector<double> out;
  for (const auto& v : j) {
    if (!v.is_number() || !(v.get<double>() > 0) || v.get<double>() > 1e24)
      throw Error(fmt::format("'{}' must hold positive numbers (at most 1e24); got {}", field, v.dump()), origin);
    out.push_back(v.get<double>());
  }
  return out;
}

SweepSize read_size(const json& base, const json& s, const std::string& field, const std::string& origin) {
  if (!s.is_object()) throw Error(fmt::format("'{}' must be an object (name and model fields)", field), origin);
  SweepSize z;
  json m = base;
  for (const auto& [k, v] : s.items()) {
    if (k == "name") {
      if (!v.is_string() || v.get<std::string>().empty() ||
          v.get<std::string>().find_first_of("/\\ .") != std::string::npos)
        throw Error(fmt::format("'{}.name' must be a non-empty name without '/', '.' or spaces", field), origin);
      z.name = v.get<std::string>();
    } else if (k == "lr") {
      if (!v.is_number() || !(v.get<double>() > 0 && v.get<double>() <= 1))
        throw Error(fmt::format("'{}.lr' must be a learning rate in (0, 1]; got {}", field, v.dump()), origin);
      z.lr = v.get<double>();
    } else {
      m[k] = v;
    }
  }
  auto names = model::ModelConfig::field_names();
  names.push_back("name");
  names.push_back("lr");
  for (const auto& [k, v] : s.items())
    if (std::find(names.begin(), names.end(), k) == names.end())
      throw Error(unknown_field_message(k, field, names), origin);
  try {
    z.model = model::ModelConfig::from_json(m, origin);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", field, e.what()), origin);
  }
  if (z.name.empty()) z.name = fmt::format("d{}l{}", z.model.dim, z.model.n_layers);
  z.family = z.name;
  return z;
}

// "lrs": each size without its own lr becomes one variant a learning rate, NAME-lrX.
std::vector<SweepSize> expand_lrs(const std::vector<SweepSize>& sizes, const std::vector<double>& lrs) {
  std::vector<SweepSize> out;
  for (const auto& s : sizes) {
    if (s.lr > 0) {
      out.push_back(s);
      continue;
    }
    for (double lr : lrs) {
      SweepSize v = s;
      v.lr = lr;
      v.name = fmt::format("{}-lr{}", s.name, lr);  // shortest form that reads back as lr
      out.push_back(v);
    }
  }
  return out;
}

}  // namespace

void apply_size_lr(const SweepSize& s, train::TrainConfig& tc) {
  if (!(s.lr > 0)) return;
  tc.min_lr = tc.lr > 0 ? tc.min_lr * s.lr / tc.lr : tc.min_lr;
  tc.lr = s.lr;
}

int64_t non_embedding_params(const model::ModelConfig& c) {
  int64_t emb = int64_t(c.vocab_size) * c.dim * (c.tie_embeddings ? 1 : 2);
  return model::count_params(c) - emb;
}

SweepConfig SweepConfig::from_json(const json& j, const std::string& origin) {
  check_keys(j, "sweep", {"description", "model", "sizes", "tokens", "flops", "lrs", "train", "warmup_fraction",
                          "min_steps", "holdout", "eval"},
             origin);
  SweepConfig c;
  c.path = origin;
  c.source = j;
  const json base = j.value("model", json::object());
  if (!base.is_object()) throw Error("'model' must be a JSON object", origin);
  if (!j.contains("sizes") || !j["sizes"].is_array() || j["sizes"].size() < 2)
    throw Error("'sizes' must be an array of at least two model sizes", origin);
  for (size_t i = 0; i < j["sizes"].size(); ++i) {
    c.sizes.push_back(read_size(base, j["sizes"][i], fmt::format("sizes[{}]", i), origin));
    for (size_t k = 0; k < i; ++k)
      if (c.sizes[k].name == c.sizes[i].name)
        throw Error(fmt::format("'sizes[{}].name' repeats '{}'", i, c.sizes[i].name), origin);
  }
  if (j.contains("tokens") == j.contains("flops"))
    throw Error("give exactly one of 'tokens' (token budgets) and 'flops' (IsoFLOP budgets)", origin);
  if (j.contains("tokens")) c.tokens = positive_list(j["tokens"], "tokens", origin);
  if (j.contains("flops")) c.flops = positive_list(j["flops"], "flops", origin);
  if (j.contains("train")) c.train = train::TrainConfig::from_json(j["train"], origin);
  if (j.contains("lrs")) {
    c.lrs = positive_list(j["lrs"], "lrs", origin);
    for (double lr : c.lrs)
      if (lr > 1) throw Error(fmt::format("'lrs' must hold learning rates in (0, 1]; got {}", lr), origin);
    if (std::set<double>(c.lrs.begin(), c.lrs.end()).size() != c.lrs.size()) throw Error("'lrs' repeats a learning rate", origin);
    c.sizes = expand_lrs(c.sizes, c.lrs);
    for (size_t i = 0; i < c.sizes.size(); ++i)
      for (size_t k = 0; k < i; ++k)
        if (c.sizes[k].name == c.sizes[i].name)
          throw Error(fmt::format("'lrs' makes a size named '{}', which another size already has", c.sizes[i].name), origin);
  }
  if (j.contains("warmup_fraction")) {
    c.warmup_fraction = get<double>(j, "warmup_fraction", "warmup_fraction", origin);
    if (!(c.warmup_fraction >= 0 && c.warmup_fraction < 1)) throw Error("'warmup_fraction' must be in [0, 1)", origin);
  }
  if (j.contains("min_steps")) {
    c.min_steps = get<int64_t>(j, "min_steps", "min_steps", origin);
    if (c.min_steps < 1) throw Error("'min_steps' must be at least 1", origin);
  }
  if (j.contains("holdout")) {
    const json& h = j["holdout"];
    check_keys(h, "holdout", {"size", "tokens"}, origin);
    if (!h.contains("size") || !h.contains("tokens")) throw Error("'holdout' needs 'size' and 'tokens'", origin);
    c.holdout = read_size(base, h["size"], "holdout.size", origin);
    c.holdout_tokens = get<double>(h, "tokens", "holdout.tokens", origin);
    if (!(c.holdout_tokens > 0)) throw Error("'holdout.tokens' must be positive", origin);
    c.has_holdout = true;
  }
  if (j.contains("eval")) {
    const json& e = j["eval"];
    check_keys(e, "eval", {"val_batches", "items", "ks", "builtin_tasks", "pairs", "induction_windows", "induction_length"}, origin);
    EvalSpec& s = c.eval;
    if (e.contains("val_batches")) s.val_batches = get<int64_t>(e, "val_batches", "eval.val_batches", origin);
    if (e.contains("items")) s.items = get<int>(e, "items", "eval.items", origin);
    if (e.contains("ks")) s.ks = get<std::vector<int>>(e, "ks", "eval.ks", origin);
    if (e.contains("builtin_tasks")) s.builtin_tasks = get<bool>(e, "builtin_tasks", "eval.builtin_tasks", origin);
    if (e.contains("pairs")) s.pairs = get<int>(e, "pairs", "eval.pairs", origin);
    if (e.contains("induction_windows"))
      s.induction_windows = get<int>(e, "induction_windows", "eval.induction_windows", origin);
    if (e.contains("induction_length"))
      s.induction_length = get<int>(e, "induction_length", "eval.induction_length", origin);
    if (s.pairs < 0 || s.pairs > 100000) throw Error("'eval.pairs' must be in [0, 100000] (0: no minimal pairs)", origin);
    if (s.val_batches < 1) throw Error("'eval.val_batches' must be at least 1", origin);
    if (s.items < 0 || s.items > 100000) throw Error("'eval.items' must be in [0, 100000] (0: no few-shot tasks)", origin);
    for (int k : s.ks)
      if (k < 0 || k > 64) throw Error("'eval.ks' must hold shot counts in [0, 64]", origin);
    if (s.induction_windows < 0 || s.induction_windows > 1024)
      throw Error("'eval.induction_windows' must be in [0, 1024] (0: no induction score)", origin);
    if (s.induction_length < 2) throw Error("'eval.induction_length' must be at least 2", origin);
  }
  return c;
}

SweepConfig SweepConfig::load(const std::string& path) {
  json j = json::parse(read_file(path), nullptr, false);
  if (j.is_discarded()) throw Error("not valid JSON", path);
  return from_json(j, path);
}

}  // namespace slm::scaling
