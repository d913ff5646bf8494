#include "slm/eval/text_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "slm/stories/story.h"
#include "slm/stories/story_checks.h"
#include "slm/util/hash.h"
#include "slm/util/text.h"

namespace slm::eval {

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (is_ascii_alpha(c) || (c == '\'' && !w.empty())) {
      w.push_back(ascii_lower(c));
    } else if (!w.empty()) {
      out.push_back(std::move(w));
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(std::move(w));
  for (auto& x : out)
    while (!x.empty() && x.back() == '\'') x.pop_back();
  return out;
}

int syllables(std::string_view word) {
  auto vowel = [](char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y'; };
  int n = 0;
  bool prev = false;
  for (char c : word) {
    bool v = vowel(ascii_lower(c));
    if (v && !prev) ++n;
    prev = v;
  }
  const size_t L = word.size();
  if (L > 2 && ascii_lower(word[L - 1]) == 'e' && !vowel(ascii_lower(word[L - 2])) &&
      !(ascii_lower(word[L - 2]) == 'l' && L > 3 && !vowel(ascii_lower(word[L - 3]))))
    --n;  // a silent final e ("make"), but not "-le" after a consonant ("little")
  return std::max(1, n);
}

namespace {

// Words every children's story uses that are not in the story vocabulary's lists.
const char* kFunctionWords[] = {
    "a", "an", "the", "and", "but", "or", "so", "if", "then", "than", "that", "this", "these", "those", "there",
    "here", "is", "was", "are", "were", "be", "been", "am", "do", "did", "does", "done", "have", "has", "had", "not",
    "no", "yes", "to", "of", "in", "on", "at", "by", "for", "with", "from", "up", "down", "out", "into", "over",
    "under", "off", "away", "back", "he", "she", "it", "they", "we", "you", "i", "me", "him", "her", "his", "its",
    "their", "them", "our", "us", "my", "your", "who", "what", "when", "where", "why", "how", "which", "all",
    "some", "one", "two", "three", "very", "too", "also", "just", "now", "again", "every", "each", "more", "much",
    "many", "little", "big", "day", "time", "once", "upon", "said", "say", "says", "asked", "ask", "can", "could",
    "will", "would", "should", "let", "let's", "go", "went", "come", "came", "see", "saw", "look", "looked", "get",
    "got", "make", "made", "want", "wanted", "like", "liked", "love", "loved", "play", "played", "happy", "sad",
    "good", "bad", "new", "old", "mom", "dad", "friend", "friends", "home", "after", "before", "while", "together",
    "always", "never", "soon", "still", "even", "because", "about", "around", "was", "felt", "feel", "know", "knew",
    "think", "thought", "take", "took", "give", "gave", "find", "found", "help", "helped", "oh", "wow", "thank",
    "thanks", "please", "sorry", "okay", "don't", "didn't", "can't", "it's", "i'm", "that's", "what's", "she's",
    "he's", "they're", "we're", "you're", "isn't", "wasn't", "won't", "something", "anything", "nothing",
    "everyone", "everything", "someone", "first", "last", "next", "other", "another", "same", "own", "way", "lot"};

// The hash of the n words from i on: the one key every n-gram figure here uses.
uint64_t ngram_hash(const std::vector<std::string>& w, size_t i, int n) {
  std::string g;
  for (int k = 0; k < n; ++k) g += w[i + size_t(k)] + " ";
  return hash64(g);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace

ChildVocabulary::ChildVocabulary(const stories::Vocabulary& v) {
  for (const char* w : kFunctionWords) words_.insert(w);
  auto add_phrase = [&](const std::string& p) {
    for (auto& w : words_of(p)) words_.insert(w), words_.insert(w + "s"), words_.insert(w + "es");
  };
  for (const auto& n : v.nouns) add_phrase(n.word);
  for (const auto& x : v.verbs) {
    add_phrase(x.base), add_phrase(x.past);
    for (auto& w : words_of(x.base)) words_.insert(w + "ing"), words_.insert(w + "ed");
  }
  for (const auto& a : v.adjectives) add_phrase(a.word);
  for (const auto& n : v.names) {
    std::string l = lower(n.name);
    words_.insert(l);
    (n.gender == stories::Gender::Female ? female_ : male_).insert(l);
  }
}

bool ChildVocabulary::contains(const std::string& w) const {
  if (words_.count(w)) return true;
  // Possessives and the regular forms of listed words.
  for (const char* suf : {"'s", "s", "ing", "ed", "d", "ly", "er", "est"}) {
    size_t n = std::char_traits<char>::length(suf);
    if (w.size() > n + 2 && w.compare(w.size() - n, n, suf) == 0 && words_.count(w.substr(0, w.size() - n))) return true;
  }
  return false;
}

int ChildVocabulary::gender_of(const std::string& name) const {
  if (female_.count(name) && !male_.count(name)) return int(stories::Gender::Female);
  if (male_.count(name) && !female_.count(name)) return int(stories::Gender::Male);
  return -1;
}

StoryMetrics story_metrics(std::string_view text, const ChildVocabulary& vocab) {
  StoryMetrics m;
  auto w = words_of(text);
  auto sents = stories::split_sentences(text);
  m.words = int(w.size());
  m.sentences = int(sents.size());
  if (w.empty()) return m;
  int known = 0, syl = 0;
  for (const auto& x : w) known += vocab.contains(x), syl += syllables(x);
  m.child_vocab_share = double(known) / double(w.size());
  const double spw = double(syl) / double(w.size()), wps = double(w.size()) / double(std::max(1, m.sentences));
  m.sentence_length = wps;
  m.fk_grade = 0.39 * wps + 11.8 * spw - 15.59;
  // The last sentence ends with . ! ? or a closing quote after one.
  std::string t(text);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\n')) t.pop_back();
  if (!t.empty() && t.back() == '"') t.pop_back();
  m.unfinished = t.empty() || !(t.back() == '.' || t.back() == '!' || t.back() == '?');
  for (size_t i = 1; i < w.size(); ++i) m.doubled_words += w[i] == w[i - 1] && w[i] != "had" && w[i] != "that";
  // a/an before a word: compare with the rule the story generator uses.
  for (size_t i = 0; i + 1 < w.size(); ++i)
    if (w[i] == "a" || w[i] == "an") m.article_errors += w[i] != stories::indefinite_article(w[i + 1]);
  // Pronouns: a sentence that starts with a known name, then one that starts with he/she.
  for (size_t i = 0; i + 1 < sents.size(); ++i) {
    auto a = words_of(sents[i]), b = words_of(sents[i + 1]);
    if (a.empty() || b.empty() || (b[0] != "he" && b[0] != "she")) continue;
    int g = vocab.gender_of(a[0]);
    if (g < 0) continue;
    ++m.pronoun_checks;
    m.pronoun_errors += (b[0] == "she") != (g == int(stories::Gender::Female));
  }
  std::unordered_set<uint64_t> seen;
  int grams = 0, repeats = 0;
  for (size_t i = 0; i + 4 <= w.size(); ++i) {
    ++grams;
    repeats += !seen.insert(ngram_hash(w, i, 4)).second;
  }
  m.repeated_4grams = grams ? double(repeats) / grams : 0.0;
  return m;
}

double distinct_n(const std::vector<std::vector<std::string>>& docs, int n) {
  std::unordered_set<uint64_t> distinct;
  size_t total = 0;
  for (const auto& d : docs)
    for (size_t i = 0; i + size_t(n) <= d.size(); ++i) {
      distinct.insert(ngram_hash(d, i, n));
      ++total;
    }
  return total ? double(distinct.size()) / double(total) : 0.0;
}

namespace {

using Counts = std::unordered_map<uint64_t, int>;

Counts ngram_counts(const std::vector<std::string>& d, int n) {
  Counts c;
  for (size_t i = 0; i + size_t(n) <= d.size(); ++i) ++c[ngram_hash(d, i, n)];
  return c;
}

}  // namespace

double self_bleu(const std::vector<std::vector<std::string>>& docs, size_t max_docs) {
  const size_t N = std::min(docs.size(), max_docs);
  if (N < 2) return 0;
  // Per n, the maximum count of each n-gram over the references is what clipping needs;
  // with every other document as a reference, keep the top two counts per n-gram so
  // that a document's own count can be left out.
  std::vector<std::vector<Counts>> counts(N, std::vector<Counts>(4));
  std::vector<std::unordered_map<uint64_t, std::pair<int, int>>> top(4);  // (best, second best)
  for (size_t i = 0; i < N; ++i)
    for (int n = 1; n <= 4; ++n) {
      counts[i][size_t(n - 1)] = ngram_counts(docs[i], n);
      for (const auto& [g, c] : counts[i][size_t(n - 1)]) {
        auto& t = top[size_t(n - 1)][g];
        if (c > t.first) t.second = t.first, t.first = c;
        else if (c > t.second) t.second = c;
      }
    }
  double total = 0;
  for (size_t i = 0; i < N; ++i) {
    double log_p = 0;
    bool zero = false;
    for (int n = 1; n <= 4; ++n) {
      int match = 0, all = 0;
      for (const auto& [g, c] : counts[i][size_t(n - 1)]) {
        const auto& t = top[size_t(n - 1)][g];
        const int ref = c == t.first ? t.second : t.first;  // the best count among the others
        match += std::min(c, ref);
        all += c;
      }
      if (all == 0 || match == 0) {
        zero = true;
        break;
      }
      log_p += 0.25 * std::log(double(match) / all);
    }
    if (zero) continue;
    // Brevity penalty against the closest reference length is about 1 for stories of
    // similar length; use the mean length of the others.
    double ref_len = 0;
    for (size_t j = 0; j < N; ++j)
      if (j != i) ref_len += double(docs[j].size());
    ref_len /= double(N - 1);
    const double c = double(docs[i].size());
    const double bp = c >= ref_len ? 1.0 : std::exp(1.0 - ref_len / std::max(1.0, c));
    total += bp * std::exp(log_p);
  }
  return total / double(N);
}

void add_4grams(const std::vector<std::string>& w, std::unordered_set<uint64_t>& set) {
  for (size_t i = 0; i + 4 <= w.size(); ++i) set.insert(ngram_hash(w, i, 4));
}

double novel_4gram_share(const std::vector<std::vector<std::string>>& docs, const std::unordered_set<uint64_t>& seen) {
  size_t total = 0, novel = 0;
  for (const auto& w : docs)
    for (size_t i = 0; i + 4 <= w.size(); ++i) {
      ++total;
      novel += !seen.count(ngram_hash(w, i, 4));
    }
  return total ? double(novel) / double(total) : 0.0;
}

}  // namespace slm::eval
