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

// A vocabulary word as a part of speech: what it may be swapped with, and how it inflects.
struct Entry {
  enum Pos { None, Noun, Verb, Adjective } pos = None;
  const stories::Noun* noun = nullptr;
  const stories::Verb* verb = nullptr;
  std::string word;  // the base form, lower case
};

// What a word is when used in `form` ("tied": the verb tie): a past or -ing form makes it
// a verb; otherwise a noun before a verb before an adjective (the order the story
// generator's word lists are drawn in).
Entry lookup(const std::string& word, const std::string& form, const stories::Vocabulary& vocab) {
  const std::string w = lowered(word);
  Entry e;
  e.word = w;
  for (const auto& v : vocab.verbs)
    if (v.base == w && (form == v.past || form == v.ing)) return e.pos = Entry::Verb, e.verb = &v, e;
  for (const auto& n : vocab.nouns)
    if (lowered(n.word) == w) return e.pos = Entry::Noun, e.noun = &n, e;
  for (const auto& v : vocab.verbs)
    if (v.base == w) return e.pos = Entry::Verb, e.verb = &v, e;
  for (const auto& a : vocab.adjectives)
    if (lowered(a.word) == w) return e.pos = Entry::Adjective, e;
  return e;
}

// `to` in the form `form` is of `from` ("tied" of tie, to hug: "hugged").
std::string inflect_like(const Entry& from, const std::string& form, const Entry& to) {
  if (from.pos == Entry::Noun && to.noun)
    return form == lowered(from.noun->plural) && from.noun->plural != from.noun->word ? to.noun->plural : to.noun->word;
  if (from.pos == Entry::Verb && to.verb) {
    if (form == from.verb->past) return to.verb->past;
    if (form == from.verb->ing) return to.verb->ing;
    if (form == from.verb->base) return to.verb->base;
    return third_person(to.verb->base);  // -s / -es: the only other form the words rule counts for a verb
  }
  return to.word;
}

// "a"/"an" just before `at` (a whole word), as [begin, end) of text; {npos, npos} if none.
std::pair<size_t, size_t> article_before(const std::string& text, size_t at) {
  if (at < 2 || text[at - 1] != ' ') return {std::string::npos, std::string::npos};
  size_t b = at - 1;
  while (b > 0 && is_ascii_alpha(text[b - 1])) --b;
  const std::string a = lowered(std::string_view(text).substr(b, at - 1 - b));
  if (a == "a" || a == "an") return {b, at - 1};
  return {std::string::npos, std::string::npos};
}

// One use to rewrite: text[begin, end) is a form of `from`, to become `to` in that form.
struct Use {
  size_t begin, end;
  size_t pair;  // index into the (from, to) pairs
};

// Rewrites the uses (sorted, not overlapping) of each pair's `from` word as its `to` word
// in the same form, with the capital and a preceding "a"/"an" following.
std::string rewrite(const std::string& text, const std::vector<Use>& uses,
                    const std::vector<std::pair<std::string, std::string>>& pairs, const stories::Vocabulary& vocab) {
  std::string out;
  size_t copied = 0;
  for (const auto& u : uses) {
    const std::string form = lowered(std::string_view(text).substr(u.begin, u.end - u.begin));
    const auto& [from, to] = pairs[u.pair];
    const Entry f = lookup(from, form, vocab);
    Entry t = lookup(to, "", vocab);
    if (f.pos == Entry::Verb && t.pos != Entry::Verb)  // a verb's slot needs the verb reading of `to`
      for (const auto& v : vocab.verbs)
        if (v.base == t.word) t.pos = Entry::Verb, t.verb = &v;
    std::string repl = inflect_like(f, form, t);
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

// Every use of each pair's `from` word, in order; the longest first where two overlap
// ("snow sled" over "sled").
std::vector<Use> uses_of(const std::string& text, const std::vector<std::pair<std::string, std::string>>& pairs,
                         const stories::Vocabulary& vocab) {
  std::vector<Use> uses;
  for (size_t i = 0; i < pairs.size(); ++i)
    for (auto [b, e] : stories::required_word_spans(text, pairs[i].first, vocab)) uses.push_back({b, e, i});
  std::sort(uses.begin(), uses.end(), [](const Use& a, const Use& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Use> kept;
  for (const auto& u : uses)
    if (kept.empty() || u.begin >= kept.back().end) kept.push_back(u);
  return kept;
}

bool is_any_of(const std::string& w, const std::vector<std::string>& words) {
  return std::any_of(words.begin(), words.end(), [&](const std::string& x) { return lowered(x) == lowered(w); });
}

// A random word of the same part of speech as e (a noun of its kind where it has one),
// none of `avoid`.
std::string distractor(const Entry& e, const std::vector<std::string>& avoid, const stories::Vocabulary& vocab,
                       Rng& rng) {
  for (int tries = 0; tries < 1000; ++tries) {
    std::string w;
    if (e.pos == Entry::Verb) {
      w = rng.pick(vocab.verbs).base;
    } else if (e.pos == Entry::Adjective) {
      w = rng.pick(vocab.adjectives).word;
    } else {
      const auto& kind = e.noun ? vocab.nouns_of_kind[size_t(e.noun->kind)] : std::vector<int>{};
      w = (!kind.empty() && tries < 500 ? vocab.nouns[size_t(rng.pick(kind))] : rng.pick(vocab.nouns)).word;
    }
    if (!is_any_of(w, avoid)) return w;
  }
  return e.word;  // a vocabulary too small to have another: left as it is
}

}  // namespace

std::string swap_required_words(const std::string& text, const std::vector<std::string>& words,
                                const stories::Vocabulary& vocab, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> avoid = words;
  for (const auto& w : words) {
    const auto spans = stories::required_word_spans(text, w, vocab);
    if (spans.empty()) continue;
    // The part of speech of its first use decides the new word's list.
    const std::string form = lowered(std::string_view(text).substr(spans[0].first, spans[0].second - spans[0].first));
    const std::string d = distractor(lookup(w, form, vocab), avoid, vocab, rng);
    avoid.push_back(d);
    pairs.emplace_back(w, d);
  }
  return rewrite(text, uses_of(text, pairs, vocab), pairs, vocab);
}

std::string use_required_words(const std::string& text, const std::vector<std::string>& words,
                               const stories::Vocabulary& vocab, size_t* first_uses_end) {
  // The text's words as vocabulary entries, in order of first use.
  std::vector<std::pair<std::string, Entry>> candidates;  // (the word's base form, what it is)
  std::vector<std::string> seen;
  size_t i = 0;
  while (i < text.size()) {
    if (!is_ascii_alpha(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && is_ascii_alpha(text[j])) ++j;
    const std::string form = lowered(std::string_view(text).substr(i, j - i));
    const bool capital = text[i] != ascii_lower(text[i]);
    i = j;
    if (capital || is_any_of(form, seen)) continue;  // names, and sentence openers, are left alone
    seen.push_back(form);
    // A verb's past or -ing form is read as the verb ("saw" is seeing, not the tool).
    bool verb = false;
    for (const auto& v : vocab.verbs)
      if (v.past == form || v.ing == form) {
        verb = true;
        if (v.base != "name" && v.base != "call") candidates.push_back({v.base, lookup(v.base, form, vocab)});  // "a girl named Sue"
      }
    if (!verb)
      for (const auto& n : vocab.nouns)
        if (lowered(n.word) == form || lowered(n.plural) == form) candidates.push_back({lowered(n.word), lookup(n.word, "", vocab)});
    for (const auto& a : vocab.adjectives)
      if (lowered(a.word) == form) candidates.push_back({form, lookup(form, "", vocab)});
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::string> taken;
  for (const auto& w : words) {
    if (stories::uses_required_word(text, w, vocab)) continue;
    const Entry want = lookup(w, "", vocab);
    const stories::Verb* as_verb = nullptr;  // a noun that is also a verb can fill a verb's slot
    for (const auto& v : vocab.verbs)
      if (v.base == want.word) as_verb = &v;
    // A noun of the same kind (a toy for a toy), a verb that takes an object as this one
    // does, an adjective: what fits the sentence the word goes into. Where the story has no
    // noun of the kind, one as much alive or not (a toy for a cake: "Rudy's box was stuck"
    // takes any thing, not "Ava the boy"), and never a place but for a place.
    auto alive = [](stories::NounKind k) { return k == stories::NounKind::Animal || k == stories::NounKind::Person; };
    auto place = [](stories::NounKind k) { return k == stories::NounKind::Place; };  // "in a house", not "in a fry"
    auto fits = [&](const Entry& c, bool same_kind) {
      if (c.pos == Entry::Noun)
        return want.pos == Entry::Noun && want.noun &&
               (same_kind ? c.noun->kind == want.noun->kind
                          : alive(c.noun->kind) == alive(want.noun->kind) && !place(c.noun->kind) && !place(want.noun->kind));
      if (c.pos == Entry::Verb) return as_verb != nullptr && c.verb->transitive == as_verb->transitive;
      return c.pos == want.pos;
    };
    // The earliest such word the text uses, none of the required ones, each used once.
    auto free = [&](const auto& c) { return !is_any_of(c.first, words) && !is_any_of(c.first, taken); };
    auto it = std::find_if(candidates.begin(), candidates.end(), [&](const auto& c) { return free(c) && fits(c.second, true); });
    if (it == candidates.end())
      it = std::find_if(candidates.begin(), candidates.end(), [&](const auto& c) { return free(c) && fits(c.second, false); });
    if (it != candidates.end()) {
      taken.push_back(it->first);
      pairs.emplace_back(it->first, w);
    }
  }
  const auto uses = uses_of(text, pairs, vocab);
  if (first_uses_end) {
    // Where the last of the replaced words is first used ends.
    *first_uses_end = 0;
    std::vector<bool> seen_pair(pairs.size(), false);
    for (const auto& u : uses)
      if (!seen_pair[u.pair]) seen_pair[u.pair] = true, *first_uses_end = std::max(*first_uses_end, u.end);
  }
  return rewrite(text, uses, pairs, vocab);
}

}  // namespace slm::align
