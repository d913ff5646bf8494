#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "slm/util/rng.h"
#include "slm/util/text.h"

using namespace slm;

TEST(Utf8, AcceptsValidText) {
  EXPECT_EQ(utf8_invalid_at("plain ascii"), std::string_view::npos);
  EXPECT_EQ(utf8_invalid_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), std::string_view::npos);  // é € 😀
}

TEST(Utf8, FindsTheFirstBadByte) {
  EXPECT_EQ(utf8_invalid_at("ab\xff"), 2u);
  EXPECT_EQ(utf8_invalid_at("a\xc3"), 1u);                // truncated sequence
  EXPECT_EQ(utf8_invalid_at("\xc0\xaf"), 0u);             // overlong '/'
  EXPECT_EQ(utf8_invalid_at("x\xed\xa0\x80"), 1u);        // a UTF-16 surrogate
  EXPECT_EQ(utf8_invalid_at("\xf4\x90\x80\x80"), 0u);     // above U+10FFFF
  EXPECT_EQ(utf8_invalid_at("ok\xe2\x28\xa1"), 2u);       // bad continuation
}

TEST(Nfc, ComposesDecomposedLetters) {
  EXPECT_EQ(nfc("cafe\xcc\x81"), "caf\xc3\xa9");  // e + combining acute -> é
  EXPECT_EQ(nfc("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(nfc("ascii stays"), "ascii stays");
}

TEST(CleanWhitespace, NormalisesSpacesAndLineBreaks) {
  EXPECT_EQ(clean_whitespace("  a  b\t\tc  "), "a b c");
  EXPECT_EQ(clean_whitespace("line one  \r\nline two\rthree"), "line one\nline two\nthree");
  EXPECT_EQ(clean_whitespace("p1\n\n\n\n\np2"), "p1\n\np2");
  EXPECT_EQ(clean_whitespace("a\xc2\xa0" "b"), "a b");  // no-break space
  EXPECT_EQ(clean_whitespace("bell\x07here"), "bellhere");
  EXPECT_EQ(clean_whitespace(" \n\t "), "");
}

TEST(JsonString, RoundTripsThroughAJsonParser) {
  Rng rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::string s;
    int n = int(rng.below(40));
    for (int i = 0; i < n; ++i) {
      uint32_t c = rng.below(130);
      if (c == 129) s += "\xc3\xa9";
      else if (c == 128) s += "\xf0\x9f\x98\x80";
      else s.push_back(char(c));
    }
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), s);
  }
}
