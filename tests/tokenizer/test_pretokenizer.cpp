#include <gtest/gtest.h>

#include "slm/tokenizer/pretokenizer.h"
#include "slm/util/rng.h"

using namespace slm::tokenizer;

namespace {
std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  pretokenize(s, [&](std::string_view p) { out.emplace_back(p); });
  return out;
}
using V = std::vector<std::string>;
}  // namespace

// Expected splits follow GPT-2's regular expression (as tiktoken's gpt2 applies it).
TEST(Pretokenizer, WordsTakeTheirLeadingSpace) {
  EXPECT_EQ(split("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(split("Once upon a time."), (V{"Once", " upon", " a", " time", "."}));
}

TEST(Pretokenizer, Contractions) {
  EXPECT_EQ(split("Lily's dog"), (V{"Lily", "'s", " dog"}));
  EXPECT_EQ(split("we're they'll I'm you've he'd don't"),
            (V{"we", "'re", " they", "'ll", " I", "'m", " you", "'ve", " he", "'d", " don", "'t"}));
  EXPECT_EQ(split("'sup"), (V{"'s", "up"}));           // the contraction wins, as in the regex
  EXPECT_EQ(split("it'S"), (V{"it", "'", "S"}));       // upper case is no contraction
  EXPECT_EQ(split("x 's"), (V{"x", " '", "s"}));
}

TEST(Pretokenizer, NumbersAndSymbols) {
  EXPECT_EQ(split("abc123 456"), (V{"abc", "123", " 456"}));
  EXPECT_EQ(split("3.14!!"), (V{"3", ".", "14", "!!"}));
  EXPECT_EQ(split("a, b"), (V{"a", ",", " b"}));
  EXPECT_EQ(split(" ?!x"), (V{" ?!", "x"}));
}

TEST(Pretokenizer, WhitespaceRunsLeaveOneSpaceForTheNextWord) {
  EXPECT_EQ(split("a   b"), (V{"a", "  ", " b"}));
  EXPECT_EQ(split("a\n\nb"), (V{"a", "\n", "\n", "b"}));  // "\n" does not join a word
  EXPECT_EQ(split("a \n b"), (V{"a", " \n", " b"}));
  EXPECT_EQ(split("end   "), (V{"end", "   "}));
  EXPECT_EQ(split("   "), (V{"   "}));
  EXPECT_EQ(split("\t\tx"), (V{"\t", "\t", "x"}));
}

TEST(Pretokenizer, UnicodeLettersNumbersAndSpaces) {
  EXPECT_EQ(split("Привет мир"), (V{"Привет", " мир"}));
  EXPECT_EQ(split("你好，世界"), (V{"你好", "，", "世界"}));
  EXPECT_EQ(split("x² ٣٤"), (V{"x", "²", " ٣٤"}));       // No and Nd are numbers
  EXPECT_EQ(split("cafe\xcc\x81"), (V{"cafe", "\xcc\x81"}));  // a combining mark is not a letter
  EXPECT_EQ(split("a\xc2\xa0" "b"), (V{"a", "\xc2\xa0", "b"}));  // no-break space is \s, not ' '
  EXPECT_EQ(split("\xf0\x9f\x98\x80 ok"), (V{"\xf0\x9f\x98\x80", " ok"}));
}

TEST(Pretokenizer, InvalidUtf8BytesAreSymbols) {
  EXPECT_EQ(split("a\xff\xfe b"), (V{"a", "\xff\xfe", " b"}));
  EXPECT_EQ(split("\xc3"), (V{"\xc3"}));
}

TEST(Pretokenizer, PiecesAlwaysConcatenateToTheInput) {
  slm::Rng rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string s(rng.below(60), '\0');
    for (auto& c : s) c = char(rng.below(256));
    std::string joined;
    for (const auto& p : split(s)) {
      ASSERT_FALSE(p.empty());
      joined += p;
    }
    ASSERT_EQ(joined, s);
  }
}
