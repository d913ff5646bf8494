#include "slm/stories/grammar.h"

#include <sstream>

#include "slm/util/error.h"
#include "slm/util/text.h"

namespace slm::stories {

Grammar Grammar::parse(std::string_view text, const std::string& file, const std::vector<std::string>& slot_names,
                       const std::vector<std::string>& list_names) {
  Grammar g;
  struct Ref {
    int section, alt, piece;
    std::string name;
    long line;
  };
  std::vector<Ref> refs;  // {@name} references, resolved once every section is known
  auto index_in = [](const std::vector<std::string>& names, const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return int(i);
    return -1;
  };
  auto slot_index = [&](const std::string& name) { return index_in(slot_names, name); };
  std::istringstream in{std::string(text)};
  std::string line;
  int current = -1;
  for (long n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      auto close = line.find(']');
      if (close == std::string::npos) throw Error("section header without ']'", at_line(file, n));
      std::string name = line.substr(1, close - 1);
      if (g.index_.count(name)) throw Error("section [" + name + "] defined twice", at_line(file, n));
      current = int(g.sections_.size());
      g.index_[name] = current;
      g.names_.push_back(name);
      g.sections_.emplace_back();
      continue;
    }
    if (current < 0) throw Error("text before the first [section]", at_line(file, n));
    Template t;
    size_t i = 0;
    while (i < line.size()) {
      size_t open = line.find('{', i);
      if (line.find('}', i) < open) throw Error("'}' without '{'", at_line(file, n));
      if (open == std::string::npos) {
        t.push_back({Piece::Text, 0, line.substr(i)});
        break;
      }
      if (open > i) t.push_back({Piece::Text, 0, line.substr(i, open - i)});
      size_t close = line.find('}', open);
      if (close == std::string::npos) throw Error("'{' without '}'", at_line(file, n));
      std::string name = line.substr(open + 1, close - open - 1);
      if (!name.empty() && name[0] == '@') {
        refs.push_back({current, int(g.sections_[current].size()), int(t.size()), name.substr(1), n});
        t.push_back({Piece::Section, -1, {}});
      } else if (!name.empty() && name[0] == '~') {
        int l = index_in(list_names, name.substr(1));
        if (l < 0) throw Error("unknown word list {" + name + "}", at_line(file, n));
        t.push_back({Piece::List, l, {}});
      } else {
        int s = slot_index(name);
        if (s < 0 && !name.empty()) {
          name[0] = ascii_lower(name[0]);
          s = slot_index(name);
        }
        if (s < 0) throw Error("unknown slot {" + line.substr(open + 1, close - open - 1) + "}", at_line(file, n));
        t.push_back({Piece::Slot, s, {}});
      }
      i = close + 1;
    }
    g.sections_[current].push_back(std::move(t));
  }
  for (auto& r : refs) {
    auto it = g.index_.find(r.name);
    if (it == g.index_.end()) throw Error("unknown section {@" + r.name + "}", at_line(file, r.line));
    g.sections_[r.section][r.alt][r.piece].id = it->second;
  }
  for (size_t s = 0; s < g.sections_.size(); ++s)
    if (g.sections_[s].empty()) throw Error("section [" + g.names_[s] + "] has no lines", file);
  return g;
}

int Grammar::section(std::string_view name) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) throw Error("the story grammar has no section [" + std::string(name) + "]");
  return it->second;
}

void Grammar::expand(int section, Rng& rng, const std::string_view* slots, std::string& out,
                     const WordLists* lists) const {
  const auto& alts = sections_[section];
  expand_template(alts[rng.below(uint32_t(alts.size()))], rng, slots, out, lists);
}

void Grammar::expand_template(const Template& t, Rng& rng, const std::string_view* slots, std::string& out,
                              const WordLists* lists) const {
  for (const auto& p : t) {
    switch (p.kind) {
      case Piece::Text: out += p.text; break;
      case Piece::Slot: out += slots[p.id]; break;
      case Piece::List: out += rng.pick((*lists)[size_t(p.id)]); break;
      case Piece::Section: expand(p.id, rng, slots, out, lists); break;
    }
  }
}

}  // namespace slm::stories
