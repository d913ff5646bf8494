#include "fuzz.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>

#include "slm/util/error.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define SLM_FUZZ_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLM_FUZZ_SANITIZED 1
#endif
#endif

namespace {

// The cap on one allocation while a reader runs (0: none). A reader of a file of a few
// kilobytes that asks for more has believed a size field it should have checked.
thread_local size_t alloc_cap = 0;
thread_local size_t alloc_refused = 0;

}  // namespace

#ifndef SLM_FUZZ_SANITIZED
// Replacing the global operator new is the one portable way to see every allocation a
// reader makes; the sanitizer builds keep their own allocator (which refuses absurd
// sizes by itself).
void* operator new(std::size_t n) {
  if (alloc_cap && n > alloc_cap) {
    alloc_refused = n;
    throw std::bad_alloc();
  }
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
// GCC cannot see that these pair with the operator new above.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace slm::fuzz {

namespace {

constexpr size_t kAllocCap = size_t(64) << 20;

// Integers that break size arithmetic: zero, signs, type limits, powers near overflow.
const uint64_t kInts[] = {0,          1,          2,          7,          255,        256,
                          0x7fff,     0xffff,     0x7fffffff, 0x80000000, 0xffffffff, uint64_t(1) << 32,
                          uint64_t(1) << 40, uint64_t(1) << 60, uint64_t(1) << 63, ~uint64_t(0),
                          ~uint64_t(0) - 7};

std::string nested(int depth, const char* open, const char* close) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += open;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

// JSON values a reader may not expect where it wants something else.
const std::vector<std::string>& snippets() {
  static const std::vector<std::string> s = {
      "-1", "0", "1", "3", "2147483648", "4294967296", "9007199254740993", "9223372036854775807",
      "18446744073709551615", "18446744073709551616", "-9223372036854775808", "1e999", "-1e999", "1.5", "-0.0",
      "1e-320", "\"\"", "\"x\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"<|endoftext|>\"", "true", "false", "null",
      "[]", "{}", "[1,2,3]", "[-1]", "[0,18446744073709551615]", "[4294967296,4294967296,4294967296]",
      "[65536,65536,65536,65536,65536]", "[\"x\"]", "{\"a\":1}", nested(20000, "[", "]"),
      nested(20000, "{\"a\":", "}"), "\"" + std::string(100000, 'a') + "\"",
      "\"\\ud800\"", "\"\\u0000\""};
  return s;
}

void collect(const nlohmann::json& j, const nlohmann::json::json_pointer& at, std::vector<nlohmann::json::json_pointer>& out) {
  out.push_back(at);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) collect(v, at / k, out);
  else if (j.is_array())
    for (size_t i = 0; i < j.size(); ++i) collect(j[i], at / i, out);
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

}  // namespace

std::string Mutator::truncated(const std::string& in, int k, int n, std::string& what) {
  size_t len = in.size() * size_t(k) / size_t(n);
  what = "truncated to " + std::to_string(len) + " bytes";
  return in.substr(0, len);
}

std::string Mutator::bytes(const std::string& in, std::string& what) {
  std::string s = in;
  if (s.empty()) return s;
  const size_t at = below(s.size());
  switch (below(7)) {
    case 0:
      what = "truncated to " + std::to_string(at) + " bytes";
      return s.substr(0, at);
    case 1: {
      const uint64_t flips = 1 + below(4);
      what = std::to_string(flips) + " bit flips from byte " + std::to_string(at);
      for (uint64_t i = 0; i < flips; ++i) s[(at + below(64)) % s.size()] ^= char(1 << below(8));
      return s;
    }
    case 2: {
      const size_t width = size_t(1) << below(4);
      const uint64_t v = kInts[below(std::size(kInts))];
      what = "integer " + std::to_string(v) + " (" + std::to_string(width) + " bytes) at byte " + std::to_string(at);
      std::memcpy(s.data() + at, &v, std::min(width, s.size() - at));
      return s;
    }
    case 3: {
      const auto& sn = snippets()[below(snippets().size())];
      what = "inserted '" + sn.substr(0, 24) + "' at byte " + std::to_string(at);
      return s.insert(at, sn);
    }
    case 4: {
      const size_t n = 1 + below(std::min<size_t>(64, s.size() - at));
      what = "deleted " + std::to_string(n) + " bytes at " + std::to_string(at);
      return s.erase(at, n);
    }
    case 5: {
      const size_t n = 1 + below(std::min<size_t>(64, s.size() - at)), to = below(s.size());
      what = "copied " + std::to_string(n) + " bytes from " + std::to_string(at) + " to " + std::to_string(to);
      return s.insert(to, s.substr(at, n));
    }
    default: {
      static const char kSyntax[] = "{}[]\",:\\\n\0 0-e.";
      const char c = kSyntax[below(sizeof kSyntax - 1)];
      what = "byte " + std::to_string(at) + " set to " + std::to_string(int(c));
      s[at] = c;
      return s;
    }
  }
}

std::string Mutator::field(const std::string& in, const std::vector<Field>& fields, std::string& what) {
  std::string s = in;
  const Field f = fields[below(fields.size())];
  uint64_t v = kInts[below(std::size(kInts))];
  if (below(4) == 0) v = uint64_t(int64_t(below(64)) - 32);  // small, maybe negative
  what = "field at byte " + std::to_string(f.offset) + " set to " + std::to_string(v);
  std::memcpy(s.data() + f.offset, &v, f.width);
  return s;
}

std::string Mutator::json(const nlohmann::json& in, std::string& what) {
  nlohmann::json j = in;
  std::vector<nlohmann::json::json_pointer> nodes;
  collect(j, nlohmann::json::json_pointer(), nodes);
  const auto at = nodes[1 + below(nodes.size() - 1)];  // never the root itself
  nlohmann::json& parent = j[at.parent_pointer()];
  const std::string key = at.back();
  const uint64_t op = below(6);
  const auto& sn = snippets()[below(snippets().size())];
  what = "at " + at.to_string() + ": ";
  if (op == 0) {  // removed
    what += "removed";
    if (parent.is_object()) parent.erase(key);
    else parent.erase(std::stoul(key));
    return j.dump();
  }
  if (op == 1 && parent.is_object()) {  // the key duplicated, with another value
    what += "duplicated key with '" + sn.substr(0, 24) + "'";
    parent["\x02" + key] = "\x01";
    std::string text = j.dump();
    replace_all(text, "\"\\u0002", "\"");
    replace_all(text, "\"\\u0001\"", sn);
    return text;
  }
  if (op == 2 && parent.is_object()) {  // the key misspelled
    what += "key renamed";
    parent[key + "_"] = parent[key];
    parent.erase(key);
    return j.dump();
  }
  what += "replaced by '" + sn.substr(0, 24) + "'";
  j[at] = "\x01";
  std::string text = j.dump();
  replace_all(text, "\"\\u0001\"", sn);
  return text;
}

static double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

Outcome run(const std::string& path, int count, const std::function<std::string(int, std::string&)>& make,
            const std::function<void(const std::string&)>& parse) {
  Outcome o;
  int failures = 0;
  const double start = cpu_seconds();
  for (int i = 0; i < count && failures < 5; ++i) {
    std::string what;
    test::spit(path, make(i, what));
    const double t0 = cpu_seconds();
    std::string wrong;
    alloc_cap = kAllocCap, alloc_refused = 0;
    try {
      parse(path);
      ++o.parsed;
    } catch (const Error& e) {
      ++o.refused;
      if (std::string(e.what()).empty()) wrong = "slm::Error with an empty message";
    } catch (const std::bad_alloc&) {
      wrong = "allocation of " + std::to_string(alloc_refused) + " bytes (std::bad_alloc)";
    } catch (const std::exception& e) {
      wrong = std::string("exception that is not slm::Error: ") + e.what();
    }
    alloc_cap = 0;
    const double took = cpu_seconds() - t0;
    o.slowest = std::max(o.slowest, took);
    if (!wrong.empty()) {
      ++failures;
      ADD_FAILURE() << "input " << i << " (" << what << "): " << wrong;
    }
  }
  o.seconds = cpu_seconds() - start;
  return o;
}

double slowdown() {
#ifdef SLM_FUZZ_SANITIZED
  return 20;
#else
  return 1;
#endif
}

int inputs_per_format() {
#ifdef SLM_FUZZ_SANITIZED
  return 1000;
#else
  return 3000;
#endif
}

}  // namespace slm::fuzz

namespace slm::fuzz {

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  } catch (const std::exception& e) {
    return std::string("(not slm::Error: ") + e.what() + ")";
  }
  return "(no error)";
}

}  // namespace slm::fuzz
