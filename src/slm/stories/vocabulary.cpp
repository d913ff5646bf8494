#include "slm/stories/vocabulary.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

#include "slm/stories/assets.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/text.h"

namespace slm::stories {

namespace {

const char* kNounFiles[kNounKinds] = {"animals.txt", "people.txt", "toys.txt", "food.txt",
                                      "places.txt",  "nature.txt", "things.txt"};

// Calls fn(fields, "file:line") for every line that is not blank or a comment.
void for_each_entry(std::string_view text, const std::string& file,
                    const std::function<void(const std::vector<std::string>&, const std::string&)>& fn) {
  std::istringstream in{std::string(text)};
  std::string line;
  for (long n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::vector<std::string> fields;
    for (std::string f; ls >> f;) fields.push_back(f);
    if (!fields.empty()) fn(fields, at_line(file, n));
  }
}

using Loader = std::function<std::string(const std::string&)>;

Vocabulary load(const Loader& read) {
  Vocabulary v;
  for (int k = 0; k < kNounKinds; ++k) {
    std::string file = kNounFiles[k];
    for_each_entry(read(file), file, [&](const std::vector<std::string>& f, const std::string&) {
      // "ice cream m": a trailing lone "m" marks a mass noun; the rest is the noun.
      bool mass = f.size() > 1 && f.back() == "m";
      std::string word;
      for (size_t i = 0; i + (mass ? 1 : 0) < f.size(); ++i) word += (i ? " " : "") + f[i];
      v.nouns_of_kind[k].push_back(int(v.nouns.size()));
      v.nouns.push_back({word, NounKind(k), mass, mass ? word : plural_of(word)});
    });
  }
  for_each_entry(read("verbs.txt"), "verbs.txt", [&](const std::vector<std::string>& f, const std::string& at) {
    if (f.size() != 3 || (f[2] != "t" && f[2] != "i")) throw Error("expected 'BASE PAST t|i'", at);
    v.verbs.push_back({f[0], f[1], f[2] == "t", ing_form(f[0], f[1])});
  });
  for_each_entry(read("adjectives.txt"), "adjectives.txt", [&](const std::vector<std::string>& f, const std::string& at) {
    if (f.size() != 2) throw Error("expected 'WORD thing|being|both'", at);
    AdjUse use = f[1] == "thing" ? AdjUse::Thing : f[1] == "being" ? AdjUse::Being : AdjUse::Both;
    if (use == AdjUse::Both && f[1] != "both") throw Error("expected 'thing', 'being' or 'both'", at);
    int i = int(v.adjectives.size());
    v.adjectives.push_back({f[0], use});
    if (use != AdjUse::Being) v.thing_adjectives.push_back(i);
    if (use != AdjUse::Thing) v.being_adjectives.push_back(i);
  });
  for_each_entry(read("names.txt"), "names.txt", [&](const std::vector<std::string>& f, const std::string& at) {
    if (f.size() != 2 || (f[1] != "f" && f[1] != "m")) throw Error("expected 'NAME f|m'", at);
    v.names.push_back({f[0], f[1] == "f" ? Gender::Female : Gender::Male});
  });
  for (int k = 0; k < kNounKinds; ++k)
    if (v.nouns_of_kind[k].empty()) throw Error("no nouns in the list", kNounFiles[k]);
  if (v.verbs.empty() || v.thing_adjectives.empty() || v.being_adjectives.empty() || v.names.size() < 2)
    throw Error("the vocabulary needs verbs, adjectives for things and beings, and two names or more");
  return v;
}

}  // namespace

const char* noun_kind_name(NounKind k) {
  static const char* names[] = {"animal", "person", "toy", "food", "place", "nature", "thing"};
  return names[int(k)];
}

Vocabulary Vocabulary::builtin() {
  return load([](const std::string& f) { return std::string(assets::get("vocab/" + f)); });
}

const Vocabulary& Vocabulary::shared() {
  static const Vocabulary v = builtin();  // C++11: initialised once, even across threads
  return v;
}

Vocabulary Vocabulary::from_dir(const std::string& dir) {
  return load([&](const std::string& f) { return read_file((std::filesystem::path(dir) / f).string()); });
}

size_t Vocabulary::distinct_words() const {
  std::set<std::string> all;
  auto add = [&](std::string w) {
    std::transform(w.begin(), w.end(), w.begin(), ascii_lower);
    all.insert(w);
  };
  for (auto& n : nouns) add(n.word);
  for (auto& x : verbs) add(x.base);
  for (auto& a : adjectives) add(a.word);
  for (auto& n : names) add(n.name);
  return all.size();
}

namespace {

bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
bool ends_with(std::string_view w, std::string_view s) { return w.size() >= s.size() && w.substr(w.size() - s.size()) == s; }

}  // namespace

std::string plural_of(std::string_view noun) {
  size_t space = noun.find_last_of(' ');
  std::string head(noun.substr(0, space == std::string_view::npos ? 0 : space + 1));
  std::string w(noun.substr(head.size()));
  static const std::pair<const char*, const char*> irregular[] = {
      {"mouse", "mice"},   {"goose", "geese"},   {"child", "children"}, {"man", "men"},         {"woman", "women"},
      {"foot", "feet"},    {"tooth", "teeth"},   {"person", "people"},  {"ox", "oxen"},         {"sheep", "sheep"},
      {"deer", "deer"},    {"fish", "fish"},     {"moose", "moose"},    {"bison", "bison"},     {"salmon", "salmon"},
      {"trout", "trout"},  {"shrimp", "shrimp"}, {"leaf", "leaves"},    {"wolf", "wolves"},     {"calf", "calves"},
      {"elf", "elves"},    {"shelf", "shelves"}, {"knife", "knives"},   {"loaf", "loaves"},     {"scarf", "scarves"},
      {"half", "halves"},  {"hoof", "hooves"},   {"thief", "thieves"},  {"dwarf", "dwarves"},   {"cactus", "cacti"},
      {"fungus", "fungi"}, {"potato", "potatoes"}, {"tomato", "tomatoes"}, {"hero", "heroes"}, {"echo", "echoes"},
      {"volcano", "volcanoes"}, {"mosquito", "mosquitoes"}, {"tornado", "tornadoes"}, {"domino", "dominoes"},
      {"mango", "mangoes"}, {"stairs", "stairs"}, {"dice", "dice"}, {"squid", "squid"}, {"buffalo", "buffaloes"},
      {"dingo", "dingoes"}, {"bookshelf", "bookshelves"}};
  for (const auto& [one, many] : irregular)
    if (w == one) return head + many;
  // "fireman" -> "firemen" (the lists hold no "human").
  if (ends_with(w, "man") && w.size() > 3) return head + w.substr(0, w.size() - 3) + "men";
  if (ends_with(w, "s") || ends_with(w, "x") || ends_with(w, "z") || ends_with(w, "ch") || ends_with(w, "sh"))
    return head + w + "es";
  if (w.size() > 1 && w.back() == 'y' && !is_vowel(w[w.size() - 2])) return head + w.substr(0, w.size() - 1) + "ies";
  return head + w + "s";
}

std::string ing_form(std::string_view base_view, std::string_view past) {
  std::string base(base_view);
  const size_t n = base.size();
  // Stress on a last syllable the rules below cannot see, and a silent u.
  static const std::pair<const char*, const char*> irregular[] = {
      {"begin", "beginning"}, {"forget", "forgetting"}, {"quit", "quitting"}, {"picnic", "picnicking"}};
  for (const auto& [b, ing] : irregular)
    if (base == b) return ing;
  if (n >= 3 && past.size() == n + 3 && past.substr(0, n) == base && past[n] == base.back() && ends_with(past, "ed"))
    return base + base.back() + "ing";  // hop/hopped -> hopping
  if (ends_with(base, "ie")) return base.substr(0, n - 2) + "ying";
  if (n > 2 && base.back() == 'e' && !ends_with(base, "ee") && !ends_with(base, "ye") && !ends_with(base, "oe"))
    return base.substr(0, n - 1) + "ing";
  // One short vowel between two consonants, in a word of one syllable: run -> running.
  int vowel_groups = 0;
  for (size_t i = 0; i < n; ++i) vowel_groups += is_vowel(base[i]) && (i == 0 || !is_vowel(base[i - 1]));
  if (n >= 3 && vowel_groups == 1 && !is_vowel(base[n - 1]) && is_vowel(base[n - 2]) && !is_vowel(base[n - 3]) &&
      base.back() != 'w' && base.back() != 'x' && base.back() != 'y')
    return base + base.back() + "ing";
  return base + "ing";
}

const char* indefinite_article(std::string_view w) {
  auto starts = [&](std::string_view p) {
    if (w.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i)
      if (ascii_lower(w[i]) != p[i]) return false;
    return true;
  };
  // Vowel letters that sound like consonants, and a silent h.
  for (auto p : {"uni", "use", "usu", "uti", "eu", "one", "once", "ewe"})
    if (starts(p)) return "a";
  for (auto p : {"hour", "honest", "honor", "heir"})
    if (starts(p)) return "an";
  char c = w.empty() ? 'x' : ascii_lower(w[0]);
  return (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') ? "an" : "a";
}

}  // namespace slm::stories
