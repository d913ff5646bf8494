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
      v.nouns.push_back({word, NounKind(k), mass});
    });
  }
  for_each_entry(read("verbs.txt"), "verbs.txt", [&](const std::vector<std::string>& f, const std::string& at) {
    if (f.size() != 3 || (f[2] != "t" && f[2] != "i")) throw Error("expected 'BASE PAST t|i'", at);
    v.verbs.push_back({f[0], f[1], f[2] == "t"});
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
