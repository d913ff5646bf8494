#include "slm/infer/prompts.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "slm/util/rng.h"

namespace slm::infer {

std::vector<Shot> read_shots(const std::string& path) {
  std::vector<Shot> shots;
  for_each_jsonl(path, [&](const nlohmann::json& j, const std::string& where) {
    shots.push_back({string_field(j, "input", where), string_field(j, "output", where)});
  });
  if (shots.empty()) throw Error("no shots in the file", path);
  return shots;
}

std::string few_shot_prompt(const std::vector<Shot>& shots, int k, const std::string& query, uint64_t seed,
                            const std::string& instruction) {
  if (k < 0 || size_t(k) > shots.size())
    throw Error("k = " + std::to_string(k) + " but the file has " + std::to_string(shots.size()) + " shots", "--k");
  std::vector<size_t> order(shots.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Rng rng(seed);
  rng.shuffle(order);
  std::string p = instruction.empty() ? "" : instruction + "\n\n";
  for (int i = 0; i < k; ++i) {
    const Shot& s = shots[order[size_t(i)]];
    p += "Input: " + s.input + "\nOutput: " + s.output + "\n\n";
  }
  return p + "Input: " + query + "\nOutput:";
}

}  // namespace slm::infer
