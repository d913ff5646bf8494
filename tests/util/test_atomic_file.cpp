#include <gtest/gtest.h>

#include <filesystem>

#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;

TEST(AtomicFile, CommitMakesTheWholeFileAppear) {
  test::TempDir dir;
  std::string path = dir / "out.txt";
  {
    AtomicFile f(path);
    f.write("hello ");
    EXPECT_FALSE(std::filesystem::exists(path)) << "nothing visible before commit";
    f.write("world");
    f.commit();
  }
  EXPECT_EQ(test::slurp(path), "hello world");
}

TEST(AtomicFile, AnUncommittedFileLeavesNothingAndKeepsTheOldOne) {
  test::TempDir dir;
  std::string path = dir / "out.txt";
  test::spit(path, "old");
  {
    AtomicFile f(path);
    f.write("half of a new file");
  }  // destroyed without commit, as when an error is thrown
  EXPECT_EQ(test::slurp(path), "old");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "no temporary left";
}

TEST(AtomicFile, WriteAtPatchesAHeader) {
  test::TempDir dir;
  AtomicFile f(dir / "h.bin");
  f.write("0000body");
  f.write_at(0, "HEAD", 4);
  EXPECT_THROW(f.write_at(6, "xyz", 3), Error);
  f.commit();
  EXPECT_EQ(test::slurp(dir / "h.bin"), "HEADbody");
}

TEST(AtomicFile, ReportsAMissingFolder) {
  try {
    AtomicFile f("/nonexistent-folder/x.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.where().find("/nonexistent-folder/x.txt"), std::string::npos);
  }
}
