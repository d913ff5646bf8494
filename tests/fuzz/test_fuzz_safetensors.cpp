// model.safetensors: mutated files (bytes, the header length, the header's JSON) are read
// or refused with slm::Error; what is read is consistent with its shapes.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "fuzz.h"
#include "slm/model/safetensors.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::model;

namespace {

std::string valid_file(const test::TempDir& dir) {
  static const std::vector<float> data = [] {
    std::vector<float> v(64);
    for (size_t i = 0; i < v.size(); ++i) v[i] = float(i) * 0.5f - 3;
    return v;
  }();
  write_safetensors(dir / "valid.safetensors",
                    {{"a.weight", {4, 3}, data.data()}, {"b.norm", {5}, data.data()}, {"c.cube", {2, 2, 2}, data.data()}},
                    {{"format", "pt"}});
  return test::slurp(dir / "valid.safetensors");
}

std::string header_of(const std::string& file) {
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  return file.substr(8, n);
}

// A file with this header text and these data bytes.
std::string file_with(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

void read_checked(const std::string& path) {
  std::map<std::string, std::string> meta;
  for (const auto& [name, t] : read_safetensors(path, &meta)) {
    uint64_t n = 1;
    for (auto d : t.shape) {
      if (d < 0) throw std::logic_error("tensor '" + name + "' was read with a negative dim");
      n *= uint64_t(d);
    }
    if (n != t.data.size()) throw std::logic_error("tensor '" + name + "' was read with a size unlike its shape");
  }
}

std::string read_error(const test::TempDir& dir, const std::string& file) {
  test::spit(dir / "t.safetensors", file);
  return fuzz::error_of([&] { read_checked(dir / "t.safetensors"); });
}

}  // namespace

TEST(FuzzSafetensors, MutatedFilesAreReadOrRefused) {
  test::TempDir dir;
  const std::string file = valid_file(dir), header = header_of(file), data = file.substr(8 + header.size());
  const auto tree = nlohmann::json::parse(header);
  fuzz::Mutator mut(2102);
  const int n = fuzz::inputs_per_format();
  const auto o = fuzz::run(
      dir / "t.safetensors", n,
      [&](int i, std::string& what) {
        if (i < 100) return fuzz::Mutator::truncated(file, i, 100, what);
        switch (i % 4) {
          case 0: return mut.bytes(file, what);
          case 1: return mut.field(file, {{0, 8}}, what);
          default: return file_with(mut.json(tree, what), data);
        }
      },
      read_checked);
  EXPECT_GT(o.parsed, n / 50);
  EXPECT_GT(o.refused, n / 50);
  EXPECT_LT(o.seconds, 10 * fuzz::slowdown());
  EXPECT_LT(o.slowest, 1 * fuzz::slowdown());
  std::printf("safetensors: %d read, %d refused, %.2f CPU s (slowest input %.3f s)\n", o.parsed, o.refused, o.seconds, o.slowest);
}

TEST(FuzzSafetensors, HandMadeBadHeadersAreNamed) {
  test::TempDir dir;
  const std::string file = valid_file(dir);
  ASSERT_EQ(read_error(dir, file), "(no error)");
  auto one = [&](const std::string& tensor, const std::string& data = "") {
    return read_error(dir, file_with("{\"x\":" + tensor + "}", data));
  };
  std::string huge = file;
  const uint64_t big = uint64_t(1) << 60;
  std::memcpy(huge.data(), &big, 8);
  EXPECT_NE(read_error(dir, huge).find("header length"), std::string::npos);
  EXPECT_NE(read_error(dir, file_with("[1]", "")).find("not a JSON object"), std::string::npos);
  EXPECT_NE(read_error(dir, file_with("{\"x\":1e999}", "")).find("malformed header"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":"I64","shape":[1],"data_offsets":[0,8]})", "12345678").find("dtype"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":5,"shape":[1],"data_offsets":[0,4]})", "1234").find("dtype"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":"1","data_offsets":[0,4]})", "1234").find("shape"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":{"a":1},"data_offsets":[0,4]})", "1234").find("shape"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":[-1],"data_offsets":[0,4]})", "1234").find("shape"), std::string::npos);
  // 2^32 * 2^32 wraps to 0 in 64 bits: a product that overflows must not pass as empty.
  EXPECT_NE(one(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]})").find("shape"),
            std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]})").find("shape"),
            std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]})", "1234").find("data_offsets"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":[1],"data_offsets":[0]})", "1234").find("data_offsets"), std::string::npos);
  EXPECT_NE(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})", "1234").find("data_offsets"), std::string::npos);
  EXPECT_NE(one(R"([1,2])").find("tensor 'x'"), std::string::npos);
}
