#include "slm/stories/grammar.h"

#include <sstream>

#include "slm/util/error.h"
#include "slm/util/text.h"

namespace slm::stories {

namespace {

int index_in(const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return int(i);
  return -1;
}

// The position of the '}' that closes the '{' at `open`, or npos.
size_t matching_brace(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    depth += s[i] == '{';
    if (s[i] == '}' && --depth == 0) return i;
  }
  return std::string_view::npos;
}

// The '|' positions at the top level of a choice's text (not inside nested braces).
std::vector<size_t> top_level_bars(std::string_view s) {
  std::vector<size_t> bars;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    depth += (s[i] == '{') - (s[i] == '}');
    if (s[i] == '|' && depth == 0) bars.push_back(i);
  }
  return bars;
}

}  // namespace

// One line (or one option of a choice) into pieces. {@name} pieces keep the name in
// `text` until every section is known (resolve()).
Grammar::Template Grammar::parse_template(std::string_view line, const std::string& where,
                                          const std::vector<std::string>& slot_names,
                                          const std::vector<std::string>& list_names) {
  Template t;
  size_t i = 0;
  while (i < line.size()) {
    size_t open = line.find('{', i);
    if (line.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i).find('}') != std::string_view::npos)
      throw Error("'}' without '{'", where);
    if (open == std::string_view::npos) {
      t.push_back({Piece::Text, 0, std::string(line.substr(i)), {}});
      break;
    }
    if (open > i) t.push_back({Piece::Text, 0, std::string(line.substr(i, open - i)), {}});
    size_t close = matching_brace(line, open);
    if (close == std::string_view::npos) throw Error("'{' without '}'", where);
    std::string name(line.substr(open + 1, close - open - 1));
    auto bars = top_level_bars(name);
    if (!bars.empty()) {
      Piece c{Piece::Choice, 0, {}, {}};
      size_t a = 0;
      bars.push_back(name.size());
      for (size_t bar : bars) {
        c.options.push_back(parse_template(std::string_view(name).substr(a, bar - a), where, slot_names, list_names));
        a = bar + 1;
      }
      t.push_back(std::move(c));
    } else if (!name.empty() && name[0] == '@') {
      t.push_back({Piece::Section, -1, name.substr(1), {}});
    } else if (!name.empty() && name[0] == '~') {
      int l = index_in(list_names, name.substr(1));
      if (l < 0) throw Error("unknown word list {" + name + "}", where);
      t.push_back({Piece::List, l, {}, {}});
    } else {
      int s = index_in(slot_names, name);
      if (s < 0 && !name.empty()) s = index_in(slot_names, std::string(1, ascii_lower(name[0])) + name.substr(1));
      if (s < 0) throw Error("unknown slot {" + name + "}", where);
      t.push_back({Piece::Slot, s, {}, {}});
    }
    i = close + 1;
  }
  return t;
}

void Grammar::resolve(Template& t, const std::string& file) {
  for (auto& p : t) {
    if (p.kind == Piece::Section) {
      auto it = index_.find(p.text);
      if (it == index_.end()) throw Error("unknown section {@" + p.text + "}", file);
      p.id = it->second;
    }
    for (auto& option : p.options) resolve(option, file);
  }
}

Grammar Grammar::parse(std::string_view text, const std::string& file, const std::vector<std::string>& slot_names,
                       const std::vector<std::string>& list_names) {
  Grammar g;
  std::vector<std::vector<long>> lines;  // the line of every template, for errors
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
      lines.emplace_back();
      continue;
    }
    if (current < 0) throw Error("text before the first [section]", at_line(file, n));
    g.sections_[size_t(current)].push_back(parse_template(line, at_line(file, n), slot_names, list_names));
    lines[size_t(current)].push_back(n);
  }
  for (size_t s = 0; s < g.sections_.size(); ++s) {
    if (g.sections_[s].empty()) throw Error("section [" + g.names_[s] + "] has no lines", file);
    for (size_t k = 0; k < g.sections_[s].size(); ++k) g.resolve(g.sections_[s][k], at_line(file, lines[s][k]));
  }
  return g;
}

int Grammar::section(std::string_view name) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) throw Error("the story grammar has no section [" + std::string(name) + "]");
  return it->second;
}

void Grammar::expand(int section, Rng& rng, const std::string_view* slots, std::string& out,
                     const WordLists* lists) const {
  const auto& alts = sections_[size_t(section)];
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
      case Piece::Choice: expand_template(p.options[rng.below(uint32_t(p.options.size()))], rng, slots, out, lists); break;
    }
  }
}

}  // namespace slm::stories
