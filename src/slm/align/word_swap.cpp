#include "slm/align/word_swap.h"

#include <algorithm>
#include <map>

#include "slm/stories/story_checks.h"
#include "slm/util/rng.h"
#include "slm/util/text.h"

namespace slm::align {

namespace {

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool ends_with(const std::string& s, const char* tail) {
  const size_t n = std::char_traits<char>::length(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

// "hugs", "kisses", "cries": a verb's present tense with he, she or it.
std::string third_person(const std::string& base) {
  if (ends_with(base, "s") || ends_with(base, "x") || ends_with(base, "z") || ends_with(base, "ch") ||
      ends_with(base, "sh") || ends_with(base, "o"))
    return base + "es";
  if (base.size() > 1 && base.back() == 'y' && std::string("aeiou").find(base[base.size() - 2]) == std::string::npos)
    return base.substr(0, base.size() - 1) + "ies";
  return base + "s";
}

// The replacement of one used form of a required word: what the word is (noun, verb,
// adjective) decides the list a new word comes from; the form decides its inflection.
class Swapper {
 public:
  Swapper(const stories::Vocabulary& vocab, const std::vector<std::string>& words, uint64_t seed)
      : vocab_(vocab), rng_(seed) {
    for (const auto& w : words) banned_.push_back(lowered(w));
  }

  std::string replace(const std::string& word, const std::string& form) {
    const std::string w = lowered(word);
    for (const auto& v : vocab_.verbs)
      if (v.base == w && (form == v.past || form == v.ing)) return verb_form(pick_verb(w), v, form);
    for (const auto& n : vocab_.nouns)
      if (lowered(n.word) == w) {
        const auto& d = pick_noun(w, &vocab_.nouns_of_kind[size_t(n.kind)]);
        return form == lowered(n.plural) && n.plural != n.word ? d.plural : d.word;
      }
    for (const auto& v : vocab_.verbs)
      if (v.base == w) return verb_form(pick_verb(w), v, form);
    for (const auto& a : vocab_.adjectives)
      if (lowered(a.word) == w) return pick_adjective(w);
    return pick_noun(w, nullptr).word;  // not in the vocabulary: a noun of any kind
  }

 private:
  bool banned(const std::string& w) const { return std::find(banned_.begin(), banned_.end(), lowered(w)) != banned_.end(); }

  // The same new word for a required word wherever it is used (key: its kind and the word).
  template <class Pick>
  const std::string& chosen(const std::string& w, Pick pick) {
    auto it = chosen_.find(w);
    if (it == chosen_.end()) it = chosen_.emplace(w, pick()).first;
    return it->second;
  }

  const stories::Noun& pick_noun(const std::string& w, const std::vector<int>* kind) {
    const std::string& name = chosen("noun " + w, [&] {
      for (int tries = 0;; ++tries) {
        const auto& n = kind && !kind->empty() && tries < 50 ? vocab_.nouns[size_t(rng_.pick(*kind))] : rng_.pick(vocab_.nouns);
        if (!banned(n.word)) return n.word;
      }
    });
    for (const auto& n : vocab_.nouns)
      if (n.word == name) return n;
    return vocab_.nouns.front();
  }

  const stories::Verb& pick_verb(const std::string& w) {
    const std::string& base = chosen("verb " + w, [&] {
      for (;;) {
        const auto& v = rng_.pick(vocab_.verbs);
        if (!banned(v.base)) return v.base;
      }
    });
    for (const auto& v : vocab_.verbs)
      if (v.base == base) return v;
    return vocab_.verbs.front();
  }

  std::string pick_adjective(const std::string& w) {
    return chosen("adjective " + w, [&] {
      for (;;) {
        const auto& a = rng_.pick(vocab_.adjectives);
        if (!banned(a.word)) return a.word;
      }
    });
  }

  static std::string verb_form(const stories::Verb& d, const stories::Verb& v, const std::string& form) {
    if (form == v.past) return d.past;
    if (form == v.ing) return d.ing;
    if (form == v.base) return d.base;
    return third_person(d.base);  // -s / -es: the only other form the words rule counts for a verb
  }

  const stories::Vocabulary& vocab_;
  Rng rng_;
  std::vector<std::string> banned_;
  std::map<std::string, std::string> chosen_;
};

// "a"/"an" just before `at` (a whole word), as [begin, end) of text; {npos, npos} if none.
std::pair<size_t, size_t> article_before(const std::string& text, size_t at) {
  if (at < 2 || text[at - 1] != ' ') return {std::string::npos, std::string::npos};
  size_t b = at - 1;
  while (b > 0 && is_ascii_alpha(text[b - 1])) --b;
  const std::string a = lowered(std::string_view(text).substr(b, at - 1 - b));
  if (a == "a" || a == "an") return {b, at - 1};
  return {std::string::npos, std::string::npos};
}

}  // namespace

std::string swap_required_words(const std::string& text, const std::vector<std::string>& words,
                                const stories::Vocabulary& vocab, uint64_t seed) {
  struct Use {
    size_t begin, end;
    size_t word;
  };
  std::vector<Use> uses;
  for (size_t i = 0; i < words.size(); ++i)
    for (auto [b, e] : stories::required_word_spans(text, words[i], vocab)) uses.push_back({b, e, i});
  // The longest use first where two overlap ("snow sled" over "sled"), then in order.
  std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Use> kept;
  for (const auto& u : uses)
    if (kept.empty() || u.begin >= kept.back().end) kept.push_back(u);

  Swapper swapper(vocab, words, seed);
  std::string out;
  size_t copied = 0;
  for (const auto& u : kept) {
    std::string repl = swapper.replace(words[u.word], lowered(std::string_view(text).substr(u.begin, u.end - u.begin)));
    if (!repl.empty() && text[u.begin] != ascii_lower(text[u.begin])) repl[0] = ascii_upper(repl[0]);
    auto [ab, ae] = article_before(text, u.begin);
    if (ab != std::string::npos && ab >= copied) {
      out.append(text, copied, ab - copied);
      std::string art = stories::indefinite_article(repl);
      if (text[ab] != ascii_lower(text[ab])) art[0] = ascii_upper(art[0]);
      out += art;
      copied = ae;
    }
    out.append(text, copied, u.begin - copied);
    out += repl;
    copied = u.end;
  }
  out.append(text, copied, std::string::npos);
  return out;
}

}  // namespace slm::align
