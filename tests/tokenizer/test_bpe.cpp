#include <gtest/gtest.h>

#include "slm/tokenizer/bpe.h"
#include "slm/tokenizer/byte_level.h"
#include "slm/tokenizer/bpe_trainer.h"
#include "slm/tokenizer/token_spans.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"
#include "test_util.h"

using namespace slm;
using namespace slm::tokenizer;

namespace {

const char* kCorpus =
    "Once upon a time, there was a little girl named Lily. She loved to play in the park. "
    "One day, Lily saw a big red ball. \"Can I play?\" asked Tom. They played all day. "
    "The end. Lily's mom said, \"Time to go home!\" 123 456 1234. ";

Tokenizer small_tokenizer(size_t vocab = 400, double space_merges = 0) {
  WordCounts wc;
  for (int i = 0; i < 20; ++i) wc.add_text(kCorpus);
  TrainOptions o;
  o.vocab_size = vocab;
  o.quiet = true;
  o.min_frequency = 1;
  o.space_merges = space_merges;
  return train_bpe(wc, o);
}

// The text of the tokens of ids that mark_token_spans marks.
std::string marked_text(const Tokenizer& t, const std::vector<uint32_t>& ids, const std::vector<uint8_t>& mark) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i)
    if (mark[i]) out += t.decode({ids[i]});
  return out;
}

}  // namespace

TEST(ByteLevel, MapsEveryByteAndBack) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(char(b));
  std::string back;
  ASSERT_TRUE(printable_to_bytes(bytes_to_printable(all), back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(bytes_to_printable(" the"), "\xc4\xa0the");  // "Ġthe"
  EXPECT_EQ(bytes_to_printable("\n"), "\xc4\x8a");       // "Ċ"
}

TEST(BpeTrainer, LearnsFrequentPairsAndHasTheAskedSize) {
  auto tok = small_tokenizer(320);
  EXPECT_EQ(tok.vocab_size(), 320u);
  EXPECT_EQ(tok.token(tok.eot()), "<|endoftext|>");
  EXPECT_EQ(tok.eot(), 319u);
  // A small corpus runs out of pairs before a large vocabulary is full: it stops there.
  EXPECT_LT(small_tokenizer(1000).vocab_size(), 1000u);
  // Frequent words become single tokens.
  EXPECT_EQ(tok.encode(" Lily").size(), 1u);
  EXPECT_EQ(tok.encode(" the").size(), 1u);
  // The first merge is the most frequent pair.
  WordCounts wc;
  wc.add_text("ab ab ab cd");
  TrainOptions o;
  o.vocab_size = 258;
  o.quiet = true;
  auto t2 = train_bpe(wc, o);
  ASSERT_EQ(t2.merges().size(), 1u);
  // Pieces "ab", " ab" (twice), " cd": the pair (a, b) is seen 3 times, (' ', a) twice.
  EXPECT_EQ(t2.token(t2.merges()[0].left) + t2.token(t2.merges()[0].right), "ab");
}

TEST(BpeTrainer, IsDeterministicAndTiesGoToTheLowerPair) {
  auto a = small_tokenizer(350), b = small_tokenizer(350);
  EXPECT_EQ(a.to_json(), b.to_json());
  WordCounts wc;
  wc.add_text("xy ab");  // "xy", " a", "ab"... all pairs seen once
  TrainOptions o;
  o.vocab_size = 258;
  o.quiet = true;
  o.min_frequency = 1;
  auto t = train_bpe(wc, o);
  ASSERT_EQ(t.merges().size(), 1u);
  // Pairs (by byte): (' ','a') (a,b) (x,y): the lowest is (' ', 'a').
  EXPECT_EQ(t.token(t.merges()[0].left), " ");
}

TEST(BpeTrainer, MinFrequencyStopsMerging) {
  WordCounts wc;
  wc.add_text("aa aa aa bc");
  TrainOptions o;
  o.vocab_size = 1000;
  o.min_frequency = 3;
  o.quiet = true;
  auto t = train_bpe(wc, o);
  // "aa" is seen 3 times, " a" twice (the first word has no space), "bc" once.
  for (const auto& m : t.merges()) EXPECT_EQ(t.token(m.left) + t.token(m.right), "aa");
  EXPECT_LT(t.vocab_size(), 1000u);
}

TEST(BpeTrainer, SpecialTokensAreNeverSplitOrLearnedFrom) {
  WordCounts wc;
  for (int i = 0; i < 50; ++i) wc.add_text("hello<|endoftext|><|pad|>world", {"<|endoftext|>", "<|pad|>"});
  TrainOptions o;
  o.vocab_size = 300;
  o.quiet = true;
  o.specials = {"<|endoftext|>", "<|pad|>"};
  auto t = train_bpe(wc, o);
  for (uint32_t id = 256; id < t.vocab_size(); ++id) {
    if (!t.is_special(id)) {
      EXPECT_EQ(t.token(id).find('|'), std::string::npos) << t.token(id);
    }
  }
  auto ids = t.encode("hi<|pad|>there<|endoftext|>");
  EXPECT_EQ(ids[ids.size() - 1], t.eot());
  EXPECT_NE(std::find(ids.begin(), ids.end(), t.special_id("<|pad|>")), ids.end());
  // Without specials the same text is ordinary bytes.
  auto plain = t.encode("<|pad|>", false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(t.decode(plain), "<|pad|>");
}

// Does the tokenizer split w after a space as it splits w alone, but for the space
// joining the first token? (" octopus" as [" "] + "octopus"'s ids, or with the first token
// as " " + that token's bytes.)
bool same_after_space(const Tokenizer& t, const std::string& w) {
  auto body = t.encode(w), spaced = t.encode(" " + w);
  if (spaced.size() == body.size() + 1 && t.token(spaced[0]) == " ")
    return std::equal(body.begin(), body.end(), spaced.begin() + 1);
  if (spaced.size() != body.size() || t.token(spaced[0]) != " " + t.token(body[0])) return false;
  return std::equal(body.begin() + 1, body.end(), spaced.begin() + 1);
}

TEST(BpeTrainer, SpaceMergesSplitAWordTheSameAfterASpaceOrAQuote) {
  const std::vector<std::string> words = {"Lily", "park", "played", "little", "ball", "home", "asked",
                                          "octopus", "lonesome", "balloon", "parking", "mommy"};
  auto gpt2 = small_tokenizer(340);
  int differ = 0;
  for (const auto& w : words) differ += !same_after_space(gpt2, w);
  EXPECT_GT(differ, 0) << "GPT-2's BPE splits every word the same after a space: the check below proves nothing";

  auto t = small_tokenizer(340, 0.3);
  EXPECT_EQ(t.vocab_size(), 340u);
  for (const auto& w : words) {
    EXPECT_TRUE(same_after_space(t, w)) << w;
    // After a quote the word is its own piece: the same ids as alone.
    auto quoted = t.encode("\"" + w), alone = t.encode(w);
    EXPECT_TRUE(std::equal(alone.begin(), alone.end(), quoted.end() - ptrdiff_t(alone.size()))) << w;
  }
  // The space merges come last (this corpus has fewer whole words than the 25 that 30% of
  // the 83 merges would be, so the rest went to the bodies), and none comes before them.
  const auto& m = t.merges();
  size_t k = 0;
  while (k < m.size() && t.token(m[m.size() - 1 - k].left) == " ") ++k;
  EXPECT_GT(k, 10u);
  EXPECT_LE(k, 25u);
  for (size_t i = 0; i + k < m.size(); ++i) EXPECT_NE(t.token(m[i].left), " ") << i;
  // Common words still cost one token after a space; a word never seen is a space and
  // then exactly the tokens it has after a quote.
  EXPECT_EQ(t.encode(" Lily").size(), 1u);
  EXPECT_EQ(t.encode(" the").size(), 1u);
  auto unseen = t.encode(" octopus"), body = t.encode("octopus");
  ASSERT_EQ(unseen.size(), body.size() + 1);
  EXPECT_EQ(t.token(unseen[0]), " ");
  // Every space merge joins the space to a whole word of the corpus, not to a word's start.
  for (size_t i = m.size() - k; i < m.size(); ++i) {
    const std::string word = t.token(m[i].right);
    EXPECT_NE(std::string(kCorpus).find(" " + word), std::string::npos) << word;
  }
  EXPECT_EQ(t.to_json(), small_tokenizer(340, 0.3).to_json());
  // A share the corpus has too few whole words for still fills the vocabulary.
  EXPECT_EQ(small_tokenizer(340, 0.9).vocab_size(), 340u);
  EXPECT_THROW(small_tokenizer(340, 1), Error);
}

TEST(BpeTrainer, RejectsImpossibleSettings) {
  WordCounts wc;
  wc.add_text("some text");
  TrainOptions o;
  o.quiet = true;
  o.vocab_size = 256;  // no room for <|endoftext|>
  try {
    train_bpe(wc, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "--vocab-size");
  }
  o.vocab_size = 300;
  o.specials = {""};
  EXPECT_THROW(train_bpe(wc, o), Error);
  o.specials = {"<|endoftext|>"};
  EXPECT_THROW(train_bpe(WordCounts(), o), Error);  // empty corpus
}

TEST(Bpe, DecodeOfEncodeIsTheIdentityOnAnyBytes) {
  auto tok = small_tokenizer(500);
  Rng rng(5);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s;
    size_t n = rng.below(80);
    for (size_t i = 0; i < n; ++i) {
      switch (rng.below(4)) {
        case 0: s.push_back(char(rng.below(256))); break;              // any byte, invalid UTF-8 too
        case 1: s += " Lily"; break;
        case 2: s += "\xf0\x9f\x98\x80"; break;                        // emoji
        default: s.push_back(" \n\tabcxyz.,'"[rng.below(12)]); break;
      }
    }
    ASSERT_EQ(tok.decode(tok.encode(s, false)), s);
  }
  std::string spaces(100000, ' ');  // a long run stays fast (the heap, not n^2)
  EXPECT_EQ(tok.decode(tok.encode(spaces)), spaces);
}

TEST(Bpe, JsonRoundTripKeepsEveryEncoding) {
  auto tok = small_tokenizer(450);
  auto back = Tokenizer::from_json(tok.to_json());
  EXPECT_EQ(back.vocab_size(), tok.vocab_size());
  EXPECT_EQ(back.to_json(), tok.to_json());
  for (const char* s : {"Once upon a time", "Lily's mom said, \"Time to go home!\"", "zebra 99 ✨"})
    EXPECT_EQ(back.encode(s), tok.encode(s));
}

TEST(Bpe, LoadsMergesInBothHuggingFaceForms) {
  // A hand-written GPT-2-style file: 256 byte tokens, merges "Ġ t" (string form) and
  // ["Ġt", "he"] (list form, as tokenizers >= 0.20 writes).
  {
    std::string vocab;
    for (int b = 0; b < 256; ++b) {
      std::string printable = bytes_to_printable(std::string(1, char(b)));
      if (b == '"' || b == '\\') printable.insert(printable.begin(), '\\');  // JSON escape
      vocab.append("\"").append(printable).append("\": ").append(std::to_string(b)).append(",");
    }
    std::string json = "{\"model\": {\"type\": \"BPE\", \"vocab\": {" + vocab +
                       "\"\xc4\xa0t\": 256, \"he\": 257, \"\xc4\xa0the\": 258, \"<|endoftext|>\": 259}, "
                       "\"merges\": [\"\xc4\xa0 t\", \"h e\", [\"\xc4\xa0t\", \"he\"]]}, "
                       "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false}, "
                       "\"added_tokens\": [{\"id\": 259, \"content\": \"<|endoftext|>\", \"special\": true}]}";
    auto tok = Tokenizer::from_json(json);
    EXPECT_EQ(tok.encode(" the"), (std::vector<uint32_t>{258}));
    EXPECT_EQ(tok.encode(" the<|endoftext|>"), (std::vector<uint32_t>{258, 259}));
  }
}

namespace {
std::string load_error(const std::string& json) {
  try {
    Tokenizer::from_json(json, "t.json");
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "t.json");
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(Bpe, CorruptOrForeignFilesNameTheField) {
  auto good = small_tokenizer(300).to_json();
  EXPECT_NE(load_error(good.substr(0, good.size() / 2)).find("malformed JSON"), std::string::npos);
  EXPECT_NE(load_error("{}").find("'model'"), std::string::npos);
  EXPECT_NE(load_error(R"({"model": {"type": "WordPiece"}})").find("model.type"), std::string::npos);
  std::string metaspace = good;
  auto at = metaspace.find("\"pre_tokenizer\"");
  ASSERT_NE(at, std::string::npos);
  metaspace.replace(metaspace.find("ByteLevel", at), 9, "Metaspace");
  EXPECT_NE(load_error(metaspace).find("pre_tokenizer.type"), std::string::npos);
  std::string bad_merge = good;
  auto m = bad_merge.find("\"merges\": [");
  ASSERT_NE(m, std::string::npos);
  bad_merge.replace(bad_merge.find('"', m + 11) + 1, 0, "\xe2\x98\x83 ");
  EXPECT_NE(load_error(bad_merge).find("model.merges[0]"), std::string::npos);
  std::string empty_special = good;
  empty_special.replace(empty_special.find("\"content\": \"<|endoftext|>\""), 26, "\"content\": \"\"");
  EXPECT_NE(load_error(empty_special).find("content is empty"), std::string::npos);
}

// The tokens a byte range of the text covers, each with its range's label: a token
// partly inside counts, an empty range covers nothing, and ids that do not decode to the
// text mark nothing.
TEST(TokenSpans, MarksTheTokensAByteRangeOverlaps) {
  auto tok = small_tokenizer(400);
  const std::string text = "Lily saw a big red ball.";
  const auto ids = tok.encode(text, false);
  const size_t ball = text.find("ball"), red = text.find("red");
  auto mark = mark_token_spans(tok, ids, text, {{ball, ball + 4}, {red + 1, red + 2}, {3, 3}}, {2, 1, 3});
  std::string two, one;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_NE(mark[i], 3) << "an empty range marks nothing";
    if (mark[i] == 2) two += tok.decode({ids[i]});
    if (mark[i] == 1) one += tok.decode({ids[i]});
  }
  EXPECT_NE(two.find("ball"), std::string::npos) << two;
  EXPECT_EQ(two.find("red"), std::string::npos) << two;
  EXPECT_NE(one.find("e"), std::string::npos) << one;  // the token holding red's middle byte
  auto other = mark_token_spans(tok, ids, "Lily saw a big red bell.", {{ball, ball + 4}}, {1});
  EXPECT_EQ(std::count(other.begin(), other.end(), 1), 0);
}

TEST(TokenSpans, MarksTheLoneSpaceThatOpensAWord) {
  auto tok = small_tokenizer(340, 0.3);
  const std::string text = "Lily saw an octopus.";  // " octopus": a space token, then the body
  const auto ids = tok.encode(text, false);
  const size_t at = text.find("octopus");
  EXPECT_EQ(marked_text(tok, ids, mark_token_spans(tok, ids, text, {{at, at + 7}}, {1})), " octopus");
  EXPECT_EQ(marked_text(tok, ids, mark_token_spans(tok, ids, text, {{at, at + 7}}, {1}, /*opening_space=*/false)), "octopus");
  // Only a lone space: the token before "." (the end of octopus) is not taken.
  const size_t dot = text.find('.');
  EXPECT_EQ(marked_text(tok, ids, mark_token_spans(tok, ids, text, {{dot, dot + 1}}, {1})), ".");
}
