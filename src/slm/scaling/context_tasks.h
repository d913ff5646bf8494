#pragma once
// Multiple-choice tasks that can only be solved from the context, for the emergence study:
// the answer is a word the prompt itself holds, drawn at random from the story world's
// vocabulary, so no amount of memorised story statistics picks it out without reading
// back. Short (about 40 tokens), so eight solved examples and the query fit a 256-token
// context.
//   copy_name:      "Zora had a kite. <a story sentence> The kite was found by" -> " Zora"
//   earlier_object: "Tom put a ball in the box and a cup on the bed. <sentence> Then Tom
//                    opened the box and saw the" -> " ball" (the cup is a choice too)
//   pattern:        "cat, drum, apple, cat, drum, apple, cat, drum," -> " apple"
#include <cstdint>
#include <string>
#include <vector>

#include "slm/eval/multiple_choice.h"

namespace slm::scaling {

// The task names, in the order context_tasks makes them.
const std::vector<std::string>& context_task_names();

// n items of each task (4 choices each), from the story world with this seed; a different
// seed gives the shots' pool (the task's "train split").
std::vector<eval::McItem> context_tasks(int n, uint64_t seed);

}  // namespace slm::scaling
