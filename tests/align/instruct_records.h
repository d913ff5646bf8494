#pragma once
// The generator's own instruction records, made once per (stories, seed): the alignment
// tests score real requests and the stories that answer them.
#include <cstdint>
#include <map>
#include <utility>

#include "slm/stories/instruct.h"

namespace slm::test {

inline const stories::InstructSet& instruct_records(int64_t n_stories, uint64_t seed) {
  static std::map<std::pair<int64_t, uint64_t>, stories::InstructSet> made;
  auto it = made.find({n_stories, seed});
  if (it != made.end()) return it->second;
  static stories::StoryGenerator gen;
  stories::InstructOptions o;
  o.stories = n_stories, o.seed = seed;
  return made.emplace(std::make_pair(n_stories, seed), stories::make_instruct_set(gen, o)).first->second;
}

}  // namespace slm::test
