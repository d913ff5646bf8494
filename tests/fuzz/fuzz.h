#pragma once
// A small deterministic fuzzer for slm's file readers: mutate a valid file many ways
// (seeded, so a failure names an input that the next run makes again), feed each result
// to a reader and check the contract every reader promises: it parses, or it throws
// slm::Error; it never crashes, never throws anything else, never asks for a huge
// allocation and never takes long.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace slm::fuzz {

// A little-endian integer field of a binary file (a length, a count, a type, a dim).
struct Field {
  size_t offset, width;
};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}
  uint64_t below(uint64_t n) { return n ? rng_() % n : 0; }

  // Byte-level: truncation, bit flips, interesting integers, inserted JSON snippets,
  // deleted and duplicated ranges. what: a short description for failure messages.
  std::string bytes(const std::string& in, std::string& what);
  // One of the fields overwritten with an interesting integer (0, -1, 2^31, 2^60, ...).
  std::string field(const std::string& in, const std::vector<Field>& fields, std::string& what);
  // Tree-level: a node replaced by a value of another type or an extreme one (huge
  // numbers, 1e999, deep nesting, long strings), a node removed, a key renamed or
  // duplicated. Returns JSON text (not always valid: 1e999 and duplicates are text-level).
  std::string json(const nlohmann::json& in, std::string& what);
  // The input cut at length k * size / n.
  static std::string truncated(const std::string& in, int k, int n, std::string& what);

 private:
  std::mt19937_64 rng_;
};

// Times are this thread's CPU seconds: a hang or a quadratic blow-up shows in them, the
// load of other processes on a shared machine does not.
struct Outcome {
  int parsed = 0, refused = 0;
  double seconds = 0, slowest = 0;  // the whole loop, and the slowest single input
};

// Writes make(i, what) to path and calls parse(path) for i in [0, count). Adds a test
// failure (with i and what) for any exception that is not slm::Error, for an allocation
// above 64 MiB (outside sanitizer builds, which have their own allocator) and for an
// slm::Error with an empty message.
Outcome run(const std::string& path, int count, const std::function<std::string(int i, std::string& what)>& make,
            const std::function<void(const std::string& path)>& parse);

// How many times slower this build runs than Release (sanitizers), for time bounds.
double slowdown();
// Inputs per format: a few thousand, fewer under the sanitizers to keep CI near a minute.
int inputs_per_format();

}  // namespace slm::fuzz

namespace slm::fuzz {

// The message of the slm::Error that fn throws; "(no error)" when it returns, and
// "(not slm::Error: ...)" for any other exception, so an EXPECT on the text shows which.
std::string error_of(const std::function<void()>& fn);

}  // namespace slm::fuzz
