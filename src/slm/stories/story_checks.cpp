#include "slm/stories/story_checks.h"

#include <algorithm>

#include "slm/util/text.h"

namespace slm::stories {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

bool word_char(char c) { return is_ascii_alpha(c) || (c >= '0' && c <= '9') || c == '\''; }

bool has_any(std::string_view text, std::initializer_list<const char*> markers) {
  std::string t = lower(text);
  return std::any_of(markers.begin(), markers.end(), [&](const char* m) { return t.find(m) != std::string::npos; });
}

}  // namespace

namespace {

// Calls f(begin, end) for each whole-word use of w in t, both already lower case, until f
// returns false. Lower-casing is left to the callers, so that a text searched for many
// forms is lowered once and a yes/no search stops at the first use.
template <class F>
void scan_word(const std::string& t, const std::string& w, F f) {
  if (w.empty()) return;
  for (size_t p = t.find(w); p != std::string::npos; p = t.find(w, p + 1)) {
    bool start = p == 0 || !word_char(t[p - 1]);
    size_t e = p + w.size();
    // "dog's" uses "dog": a possessive ends the word too.
    bool end = e == t.size() || !word_char(t[e]) || (t[e] == '\'' && (e + 1 == t.size() || t[e + 1] == 's'));
    if (start && end && !f(p, e)) return;
  }
}

bool has_word(const std::string& t, const std::string& w) {
  bool found = false;
  scan_word(t, w, [&](size_t, size_t) { return !(found = true); });
  return found;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> word_spans(std::string_view text, std::string_view word) {
  std::vector<std::pair<size_t, size_t>> out;
  scan_word(lower(text), lower(word), [&](size_t b, size_t e) { return out.emplace_back(b, e), true; });
  return out;
}

bool contains_word(std::string_view text, std::string_view word) { return has_word(lower(text), lower(word)); }

std::vector<std::string> required_word_forms(std::string_view word, const Vocabulary& vocab) {
  std::string w = lower(word);
  std::vector<std::string> forms = {w, w + "s", w + "es", w + "ed", w + "d", w + "ing"};
  if (!w.empty() && w.back() == 'e') forms.push_back(w.substr(0, w.size() - 1) + "ing");
  if (!w.empty() && w.back() == 'y') forms.push_back(w.substr(0, w.size() - 1) + "ies");
  if (!w.empty()) forms.push_back(w + w.back() + "ing"), forms.push_back(w + w.back() + "ed");
  for (const auto& v : vocab.verbs)
    if (v.base == w) forms.push_back(v.past), forms.push_back(v.ing);  // "tied", "tying"
  return forms;
}

bool uses_required_word(std::string_view text, std::string_view word, const Vocabulary& vocab) {
  const std::string t = lower(text);
  auto forms = required_word_forms(word, vocab);
  return std::any_of(forms.begin(), forms.end(), [&](const std::string& f) { return has_word(t, lower(f)); });
}

std::vector<std::pair<size_t, size_t>> required_word_spans(std::string_view text, std::string_view word,
                                                           const Vocabulary& vocab) {
  const std::string t = lower(text);
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& f : required_word_forms(word, vocab))
    scan_word(t, lower(f), [&](size_t b, size_t e) { return out.emplace_back(b, e), true; });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<std::string> paragraphs_of(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0, p;
  while ((p = text.find("\n\n", start)) != std::string_view::npos) {
    if (p > start) out.emplace_back(text.substr(start, p - start));
    start = p + 2;
  }
  if (start < text.size()) out.emplace_back(text.substr(start));
  return out;
}

bool shows_feature(std::string_view text, Feature f) {
  auto paras = paragraphs_of(text);
  if (paras.empty()) return false;
  const std::string& last = paras.back();
  switch (f) {
    case Feature::Dialogue:
      return std::count(text.begin(), text.end(), '"') >= 4;
    case Feature::MoralValue:
      return has_any(last, {"learned", "lesson", "moral"});
    case Feature::BadEnding: {
      // The ending is the last paragraph, or the one before a moral.
      bool moral = paras.size() > 1 && has_any(last, {"learned", "lesson", "moral"});
      const std::string& ending = moral ? paras[paras.size() - 2] : last;
      return has_any(ending, {"sad", "cried", "upset", "worried", "scared", "lonely", "grumpy", "lost", "never"});
    }
    case Feature::PlotTwist:
      return has_any(text, {"surpris", "not what it seemed", "began to talk", "strange"});
    case Feature::Foreshadowing:
      return has_any(paras[0], {"did not know", "feeling", "dark clouds", "careful", "secret", "different"});
    case Feature::Conflict:
      return has_any(text, {"fight", "mine", "angry", "mad", "could not agree", "laughed at"});
  }
  return false;
}

std::optional<Feature> feature_from_name(std::string_view name) {
  for (int f = 0; f < kFeatures; ++f)
    if (name == feature_name(Feature(f))) return Feature(f);
  return std::nullopt;
}

}  // namespace slm::stories
