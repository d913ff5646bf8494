// The fuzz runner itself must fail a reader that breaks the contract, or every fuzz test
// would pass whatever the readers did.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "fuzz.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;

namespace {

// Inputs "0", "1", ... (count of them) through parse.
fuzz::Outcome run_with(const std::function<void(const std::string&)>& parse, int count = 1) {
  test::TempDir dir;
  return fuzz::run(
      dir / "x", count,
      [](int i, std::string& what) {
        what = "input";
        return std::to_string(i);
      },
      parse);
}

}  // namespace

TEST(FuzzHarness, CountsParsedAndRefusedInputs) {
  const auto o = run_with([](const std::string& path) {
    if (test::slurp(path) != "1") throw Error("refused", path);
  }, 3);
  EXPECT_EQ(o.parsed, 1);
  EXPECT_EQ(o.refused, 2);
}

TEST(FuzzHarness, FailsOnExceptionsThatAreNotSlmError) {
  EXPECT_NONFATAL_FAILURE(run_with([](const std::string&) { throw std::out_of_range("json"); }),
                          "exception that is not slm::Error: json");
  EXPECT_NONFATAL_FAILURE(run_with([](const std::string&) { throw Error(""); }), "empty message");
}

TEST(FuzzHarness, FailsOnHugeAllocations) {
  if (fuzz::slowdown() > 1) GTEST_SKIP() << "sanitizer builds keep their own allocator";
  EXPECT_NONFATAL_FAILURE(run_with([](const std::string&) {
                            std::vector<char> v(size_t(1) << 30);
                            *static_cast<volatile char*>(v.data()) = 1;  // not optimised away
                          }),
                          "allocation of 1073741824 bytes");
  std::vector<char> after(size_t(1) << 27);  // the cap holds only while a reader runs
  EXPECT_EQ(after.size(), size_t(1) << 27);
}

TEST(FuzzHarness, MutationsAreDeterministic) {
  const std::string in(200, 'a');
  fuzz::Mutator a(7), b(7);
  for (int i = 0; i < 50; ++i) {
    std::string wa, wb;
    EXPECT_EQ(a.bytes(in, wa), b.bytes(in, wb));
    EXPECT_EQ(wa, wb);
  }
}
