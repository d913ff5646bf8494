#pragma once
// A small template grammar: [sections] of alternative lines with {slots}, {~list} words
// (a fresh word from a named word list at each use), {@section} references and inline
// choices {looked|peeked|stared} (one drawn at each use; {very |} may leave a word out;
// an option may hold slots and choices of its own: {it|the {obj}}).
// The format is described at the top of assets/story.txt. Parsed once into
// pieces, so expanding a template is a few appends: the story generator writes tens of
// megabytes a second with it.
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "slm/util/rng.h"

namespace slm::stories {

class Grammar {
 public:
  // slot_names: the slots a template may use; a slot is referred to by its index here.
  // "{He}" is accepted for a slot named "he" (capitals are restored after expansion).
  // Throws slm::Error naming file and line for an unknown slot or section, an unclosed
  // brace, or an empty section.
  // list_names: the word lists a template may draw from as {~name}.
  static Grammar parse(std::string_view text, const std::string& file, const std::vector<std::string>& slot_names,
                       const std::vector<std::string>& list_names = {});

  int section(std::string_view name) const;  // throws when there is none
  bool has_section(std::string_view name) const { return index_.count(std::string(name)) > 0; }
  size_t alternatives(int section) const { return sections_[section].size(); }

  // Appends a random alternative of the section, with slot i filled by slots[i] and
  // {~list} j by a random word of lists[j] (lists may be null when no template uses one).
  using WordLists = std::vector<std::vector<std::string>>;
  void expand(int section, Rng& rng, const std::string_view* slots, std::string& out,
              const WordLists* lists = nullptr) const;

 private:
  struct Piece {
    enum Kind : uint8_t { Text, Slot, List, Section, Choice } kind;
    int id;            // slot, list or section index
    std::string text;                      // for Text; for Section, its name until resolved
    std::vector<std::vector<Piece>> options;  // for Choice: each a template of its own
  };
  using Template = std::vector<Piece>;
  static Template parse_template(std::string_view line, const std::string& where,
                                 const std::vector<std::string>& slot_names, const std::vector<std::string>& list_names);
  void resolve(Template& t, const std::string& file);
  void expand_template(const Template& t, Rng& rng, const std::string_view* slots, std::string& out,
                       const WordLists* lists) const;

  std::vector<std::vector<Template>> sections_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> index_;
};

}  // namespace slm::stories
