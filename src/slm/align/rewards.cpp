#include "slm/align/rewards.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>

#include "slm/eval/instruct_eval.h"
#include "slm/eval/judge.h"
#include "slm/eval/spelling.h"
#include "slm/eval/text_metrics.h"
#include "slm/stories/story.h"
#include "slm/stories/story_checks.h"
#include "slm/util/error.h"
#include "slm/util/field_names.h"

namespace slm::align {

using nlohmann::json;

const std::vector<std::string>& reward_rule_names() {
  static const std::vector<std::string> names = {"words",       "features", "answer", "length", "repetition",
                                                 "child_vocab", "grammar",  "eot",    "judge"};
  return names;
}

void require_reward_rule(const std::string& name, const std::string& origin) {
  const auto& names = reward_rule_names();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  std::string near = nearest_name(name, names);
  throw Error(fmt::format("unknown reward rule '{}'{}", name, near.empty() ? "" : "; did you mean '" + near + "'?"),
              origin);
}

// The required words used in real sentences: a word counts where its sentence has at
// least two words besides the required ones it uses, so a bare list ("dog, ball, red.")
// does not count, nor do multi-word ones run together.
std::vector<WordUse> required_word_uses(const std::string& text, const std::vector<std::string>& words,
                                        const stories::Vocabulary& vocab) {
  std::vector<WordUse> uses(words.size());
  size_t cursor = 0;  // split_sentences returns pieces of text, in order: find each one's offset
  for (const auto& s : stories::split_sentences(text)) {
    const size_t at = text.find(s, cursor);
    if (at != std::string::npos) cursor = at + s.size();
    std::vector<size_t> here;
    size_t required_words = 0;
    for (size_t i = 0; i < words.size(); ++i)
      if (stories::uses_required_word(s, words[i], vocab)) here.push_back(i), required_words += eval::words_of(words[i]).size();
    if (here.empty() || eval::words_of(s).size() < required_words + 2) continue;
    for (size_t i : here) {
      if (uses[i].used) continue;
      uses[i].used = true;
      const auto spans = stories::required_word_spans(s, words[i], vocab);
      if (at != std::string::npos && !spans.empty())
        uses[i].begin = at + spans.front().first, uses[i].end = at + spans.front().second;
    }
  }
  return uses;
}

namespace {

void read_range(const json& j, const char* key, int& lo, int& hi, const std::string& origin) {
  if (!j.contains(key)) return;
  const json& r = j[key];
  if (!r.is_array() || r.size() != 2 || !r[0].is_number_integer() || !r[1].is_number_integer() || r[0].get<int>() < 0 ||
      r[0].get<int>() > r[1].get<int>() || r[1].get<int>() < 1)
    throw Error(fmt::format("expected [min, max] words with 0 <= min <= max, max >= 1"), origin + ": " + key);
  lo = r[0].get<int>(), hi = r[1].get<int>();
}

// 1 inside [lo, hi]; below, falling with the square of the shortfall (a word list is far
// from a story); above, hi / n.
double in_range(int n, int lo, int hi) {
  if (n < lo) return lo == 0 ? 1.0 : std::pow(double(n) / double(lo), 2.0);
  if (n > hi) return double(hi) / double(n);
  return 1.0;
}

double words_in_sentences(const std::string& text, const std::vector<std::string>& words,
                          const stories::Vocabulary& vocab) {
  const auto uses = required_word_uses(text, words, vocab);
  const auto used = std::count_if(uses.begin(), uses.end(), [](const WordUse& u) { return u.used; });
  return double(used) / double(words.size());
}

}  // namespace

RewardConfig RewardConfig::from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) throw Error("expected a JSON object", origin);
  RewardConfig c;
  static const std::vector<std::string> keys = {"weights", "gates", "story_words", "other_words", "answer_words",
                                                "hunspell_dir", "judge"};
  for (const auto& [k, v] : j.items()) {
    if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
      std::string near = nearest_name(k, keys);
      throw Error(fmt::format("unknown field '{}'{}", k, near.empty() ? "" : "; did you mean '" + near + "'?"), origin);
    }
  }
  if (j.contains("weights")) {
    if (!j["weights"].is_object()) throw Error("expected an object {rule: weight}", origin + ": weights");
    for (const auto& [k, v] : j["weights"].items()) {
      require_reward_rule(k, origin + ": weights");
      if (!v.is_number() || v.get<double>() < 0)
        throw Error("expected a weight >= 0", origin + ": weights." + k);
      c.weights[k] = v.get<double>();
    }
  }
  if (j.contains("gates")) {
    if (!j["gates"].is_array()) throw Error("expected an array of rule names", origin + ": gates");
    c.gates.clear();
    for (const auto& g : j["gates"]) {
      if (!g.is_string()) throw Error("expected a rule name", origin + ": gates");
      require_reward_rule(g.get<std::string>(), origin + ": gates");
      c.gates.push_back(g.get<std::string>());
    }
  }
  read_range(j, "story_words", c.story_min_words, c.story_max_words, origin);
  read_range(j, "other_words", c.other_min_words, c.other_max_words, origin);
  read_range(j, "answer_words", c.answer_min_words, c.answer_max_words, origin);
  if (j.contains("hunspell_dir")) {
    if (!j["hunspell_dir"].is_string()) throw Error("expected a folder name", origin + ": hunspell_dir");
    c.hunspell_dir = j["hunspell_dir"].get<std::string>();
  }
  if (j.contains("judge")) {
    const json& jj = j["judge"];
    if (!jj.is_object()) throw Error("expected {\"url\", \"model\", \"cache\"}", origin + ": judge");
    for (const auto& [k, v] : jj.items()) {
      if (k != "url" && k != "model" && k != "cache") throw Error("unknown field '" + k + "'", origin + ": judge");
      if (!v.is_string()) throw Error("expected a string", origin + ": judge." + k);
    }
    c.judge_url = jj.value("url", ""), c.judge_model = jj.value("model", ""), c.judge_cache = jj.value("cache", "");
  }
  if (c.weights["judge"] > 0 && (c.judge_url.empty() || c.judge_model.empty()))
    throw Error("the judge rule has a weight but no judge {\"url\", \"model\"}", origin + ": weights.judge");
  double sum = 0;
  for (const auto& [k, w] : c.weights) sum += w;
  if (sum <= 0) throw Error("every weight is 0: nothing to reward", origin + ": weights");
  return c;
}

RewardConfig RewardConfig::from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open the reward config", path);
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded()) throw Error("not valid JSON", path);
  return from_json(j, path);
}

json RewardConfig::to_json() const {
  json j = {{"weights", weights},
            {"gates", gates},
            {"story_words", {story_min_words, story_max_words}},
            {"other_words", {other_min_words, other_max_words}},
            {"answer_words", {answer_min_words, answer_max_words}},
            {"hunspell_dir", hunspell_dir}};
  if (!judge_url.empty()) j["judge"] = {{"url", judge_url}, {"model", judge_model}, {"cache", judge_cache}};
  return j;
}

struct RewardModel::Impl {
  const stories::Vocabulary& vocab = stories::Vocabulary::shared();
  eval::ChildVocabulary child{vocab};
  eval::SpellChecker spell;
  explicit Impl(const std::string& dir) : spell(dir) {}
};

RewardModel::RewardModel(const RewardConfig& cfg) : cfg_(cfg), impl_(std::make_unique<Impl>(cfg.hunspell_dir)) {}
RewardModel::~RewardModel() = default;

Reward RewardModel::score(const stories::InstructRecord& r, const std::string& text, bool eot) const {
  const std::string kind = eval::task_kind(r);
  const eval::StoryMetrics m = eval::story_metrics(text, impl_->child);
  std::map<std::string, double> s;
  if (kind == "write" && !r.words.empty()) s["words"] = words_in_sentences(text, r.words, impl_->vocab);
  if (kind == "write" && !r.features.empty()) {
    int shown = 0;
    for (const auto& f : r.features) {
      auto feat = stories::feature_from_name(f);
      shown += feat && stories::shows_feature(text, *feat);
    }
    s["features"] = double(shown) / double(r.features.size());
  }
  if (kind == "question") {
    const std::string got = eval::normalize_answer(text), want = eval::normalize_answer(r.answer);
    const bool exact = got == want || got == eval::normalize_answer(r.output);
    const bool contains = !want.empty() && (" " + got + " ").find(" " + want + " ") != std::string::npos;
    s["answer"] = exact ? 1.0 : contains ? 0.7 : 0.0;
  }
  const int n = m.words;
  if (kind == "write" || r.task == kStoryBeginningTask) s["length"] = in_range(n, cfg_.story_min_words, cfg_.story_max_words);
  else if (kind == "question") s["length"] = in_range(n, cfg_.answer_min_words, cfg_.answer_max_words);
  else s["length"] = in_range(n, cfg_.other_min_words, cfg_.other_max_words);
  s["repetition"] = std::max(0.0, 1.0 - 2.0 * m.repeated_4grams);
  if (kind != "question") s["child_vocab"] = m.child_vocab_share;
  const int errors = int(impl_->spell.misspelled(text).size()) + m.article_errors + m.doubled_words + m.pronoun_errors +
                     (m.unfinished && kind != "question" ? 1 : 0);
  s["grammar"] = n == 0 ? 0.0 : std::max(0.0, 1.0 - 5.0 * double(errors) / double(n));
  s["eot"] = eot ? 1.0 : 0.0;

  Reward out;
  double sum = 0, wsum = 0, gate = 1;
  for (const auto& [rule, v] : s) {
    const double w = cfg_.weights.at(rule);
    if (std::find(cfg_.gates.begin(), cfg_.gates.end(), rule) != cfg_.gates.end()) gate *= v;
    else sum += w * v, wsum += w;
    if (w > 0 || std::find(cfg_.gates.begin(), cfg_.gates.end(), rule) != cfg_.gates.end()) out.rules[rule] = v;
  }
  out.total = (wsum > 0 ? sum / wsum : 1.0) * gate;
  return out;
}

std::vector<Reward> RewardModel::score_all(const std::vector<const stories::InstructRecord*>& requests,
                                           const std::vector<std::string>& completions,
                                           const std::vector<bool>& eot) const {
  std::vector<Reward> out;
  for (size_t i = 0; i < requests.size(); ++i) out.push_back(score(*requests[i], completions[i], eot[i]));
  const double wj = cfg_.weights.at("judge");
  if (wj <= 0) return out;
  // The judge reads the request as the "beginning" and grades the completion; its four
  // grades (1-10) averaged and scaled to 0..1. The total is re-weighted with it.
  eval::JudgeOptions jo;
  jo.url = cfg_.judge_url, jo.model = cfg_.judge_model, jo.cache_path = cfg_.judge_cache;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (size_t i = 0; i < requests.size(); ++i) pairs.push_back({requests[i]->instruction, completions[i]});
  auto grades = eval::judge_stories(pairs, jo, /*quiet=*/true);
  for (size_t i = 0; i < out.size(); ++i) {
    if (!grades[i].ok) continue;  // a failed judgment is not a score: the rule does not apply
    const double g = (grades[i].grammar + grades[i].creativity + grades[i].consistency + grades[i].plot) / 40.0;
    // Undo the gate, add the judge to the weighted mean, gate again.
    double gate = 1, wsum = 0;
    for (const auto& [rule, v] : out[i].rules) {
      if (std::find(cfg_.gates.begin(), cfg_.gates.end(), rule) != cfg_.gates.end()) gate *= v;
      else wsum += cfg_.weights.at(rule);
    }
    const double mean = gate > 0 ? out[i].total / gate : 0;
    out[i].rules["judge"] = g;
    out[i].total = (mean * wsum + wj * g) / (wsum + wj) * gate;
  }
  return out;
}

}  // namespace slm::align
