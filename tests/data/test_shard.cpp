#include <gtest/gtest.h>

#include <cstring>

#include "slm/data/shard.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::data;

namespace {
std::string error_of(const std::string& path) {
  try {
    TokenShard s(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), path);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Shard, Uint16RoundTripWithLlmcHeader) {
  test::TempDir dir;
  std::vector<uint32_t> toks = {0, 1, 50256, 65535, 7};
  ShardWriter w(dir / "a.bin", 2);
  w.append(toks.data(), 3);
  w.append(toks.data() + 3, 2);
  w.commit();
  std::string bytes = test::slurp(dir / "a.bin");
  ASSERT_EQ(bytes.size(), 1024u + 10u);
  int32_t h[3];
  std::memcpy(h, bytes.data(), 12);
  EXPECT_EQ(h[0], 20240520);
  EXPECT_EQ(h[1], 1);
  EXPECT_EQ(h[2], 5);
  TokenShard s(dir / "a.bin");
  ASSERT_EQ(s.size(), 5u);
  for (size_t i = 0; i < toks.size(); ++i) EXPECT_EQ(s[i], toks[i]);
  EXPECT_EQ(s.max_token(), 65535u);
}

TEST(Shard, Uint32ForLargeVocabularies) {
  test::TempDir dir;
  EXPECT_EQ(ShardWriter::token_bytes_for(65536), 2);
  EXPECT_EQ(ShardWriter::token_bytes_for(128256), 4);
  std::vector<uint32_t> toks = {128000, 3, 70000};
  ShardWriter w(dir / "b.bin", 4);
  w.append(toks.data(), toks.size());
  w.commit();
  TokenShard s(dir / "b.bin");
  EXPECT_EQ(s.token_bytes(), 4);
  EXPECT_EQ(s[0], 128000u);
  EXPECT_EQ(s[2], 70000u);
}

TEST(Shard, Uint16WriterRejectsTokensThatDoNotFit) {
  test::TempDir dir;
  ShardWriter w(dir / "c.bin", 2);
  uint32_t t = 70000;
  EXPECT_THROW(w.append(&t, 1), Error);
}

TEST(Shard, CorruptFilesGetClearErrors) {
  test::TempDir dir;
  test::spit(dir / "short.bin", "tiny");
  EXPECT_NE(error_of(dir / "short.bin").find("shorter than the 1024-byte header"), std::string::npos);

  std::string header(1024, '\0');
  int32_t h[3] = {12345, 1, 0};
  std::memcpy(header.data(), h, 12);
  test::spit(dir / "magic.bin", header);
  EXPECT_NE(error_of(dir / "magic.bin").find("header[0] (magic)"), std::string::npos);

  h[0] = 20240520, h[1] = 3;
  std::memcpy(header.data(), h, 12);
  test::spit(dir / "version.bin", header);
  EXPECT_NE(error_of(dir / "version.bin").find("header[1]"), std::string::npos);

  h[1] = 1, h[2] = 100;  // says 100 tokens, holds 2
  std::memcpy(header.data(), h, 12);
  test::spit(dir / "trunc.bin", header + "abcd");
  EXPECT_NE(error_of(dir / "trunc.bin").find("truncated or corrupt"), std::string::npos);
}

TEST(Shard, NothingIsLeftWhenNotCommitted) {
  test::TempDir dir;
  {
    ShardWriter w(dir / "d.bin", 2);
    uint32_t t = 1;
    w.append(&t, 1);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}
