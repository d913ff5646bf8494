// slm explain swap: a model that uses a line loses much when it is swapped for another
// document's (a model trained here to recall an object from its line), the same line swapped
// in changes nothing, the tail tokens are the same in both versions, and the documents it
// cannot score are counted, not scored.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "explain/recall_task.h"
#include "slm/explain/line_swap.h"
#include "slm/util/error.h"
#include "tiny_model.h"

namespace slm::explain {
namespace {

using test::RecallTask;

TEST(LineSwap, FindsTheFirstLineWithThePrefix) {
  const std::string doc = "Features: Dialogue\nWords: ball, red\nStory:\nOnce upon a time.";
  const LineSpan s = find_line(doc, "Words:");
  EXPECT_EQ(doc.substr(s.begin, s.end - s.begin), "Words: ball, red\n");
  EXPECT_EQ(find_line("Words: a\nrest", "Words:").begin, 0u) << "a line at the start";
  EXPECT_EQ(find_line(doc, "Story").begin, doc.find("Story"));
  const LineSpan none = find_line(doc, "Summary:"), mid = find_line(doc, "ball");
  EXPECT_EQ(none.begin, none.end);
  EXPECT_EQ(mid.begin, mid.end) << "the prefix must start the line";
  const LineSpan last = find_line("Story:\nWords: at the end", "Words:"), bare = find_line("Words: a\n", "Words:");
  EXPECT_EQ(last.begin, last.end) << "no text after the line: nothing to score";
  EXPECT_EQ(bare.begin, bare.end);
}

TEST(LineSwap, TheDerangementMovesEveryDocument) {
  for (size_t n : {2, 3, 7, 50})
    for (uint64_t seed : {1, 2, 3}) {
      const auto p = derangement(n, seed);
      EXPECT_EQ(std::set<size_t>(p.begin(), p.end()).size(), n) << "a permutation";
      for (size_t i = 0; i < n; ++i) EXPECT_NE(p[i], i) << "n " << n << " seed " << seed;
      EXPECT_EQ(p, derangement(n, seed)) << "the same for a seed";
    }
}

TEST(LineSwap, AModelThatUsesTheLineLosesWhenItIsSwapped) {
  // "N has a O ." is the line, "N 's toy is the O" the text after it: the trained model
  // reads O off the line, so another document's line costs it the object.
  double final_loss = 0;
  auto m = RecallTask::train(&final_loss);
  ASSERT_LT(final_loss, 0.05);
  std::vector<DocumentParts> docs;
  auto ids = [](std::vector<int32_t> v) { return std::vector<uint32_t>(v.begin(), v.end()); };
  for (int i = 0; i < 16; ++i) {
    const int n = i % RecallTask::kNames, o = i;  // every document its own object
    auto p = RecallTask::prompt(n, o);
    p.push_back(RecallTask::object(o));
    DocumentParts d;
    d.line = ids(std::vector<int32_t>(p.begin(), p.begin() + 5));  // N has a O .
    d.tail = ids(std::vector<int32_t>(p.begin() + 5, p.end()));    // N 's toy is the O
    docs.push_back(d);
  }
  const LineSwap r = line_swap_parts(*m, docs, 1);
  EXPECT_EQ(r.documents, 16);
  EXPECT_EQ(r.tokens, 16 * 6) << "every tail token, the first predicted from the line's last";
  EXPECT_GT(r.worth(), 0.5) << "written " << r.loss_written << ", swapped " << r.loss_swapped;
  // As written: the mean loss of every tail token, the first predicted from the line's last,
  // computed here from whole sequences.
  double want = 0;
  for (const auto& d : docs) {
    std::vector<int32_t> x(d.line.begin(), d.line.end()), y;
    x.insert(x.end(), d.tail.begin(), d.tail.end());
    for (size_t t = 1; t < x.size(); ++t) y.push_back(t >= d.line.size() ? x[t] : -1);
    x.pop_back();
    want += m->loss(x.data(), y.data(), 1, int(x.size())) / double(docs.size());
  }
  EXPECT_NEAR(r.loss_written, want, 1e-9);

  // The same line in every document: swapping changes nothing, to the bit.
  for (auto& d : docs) d.line = docs[0].line;
  const LineSwap same = line_swap_parts(*m, docs, 1);
  EXPECT_EQ(same.loss_written, same.loss_swapped);
  EXPECT_THROW(line_swap_parts(*m, {docs[0]}, 1), Error) << "one document has no other to swap with";
}

TEST(LineSwap, CountsWhatItCannotScore) {
  test::TinyModel t(48);
  const std::string tail = "Once upon a time, there was a little dog. The dog liked to run.";
  std::vector<std::string> docs = {"Words: dog\n" + tail, "Words: run\n" + tail, "Words: time\n" + tail,
                                   "no such line\n" + tail,  // without the line
                                   std::string(300, 'x') + "\nWords: dog\n" + tail};  // the line starts past 48 tokens
  const LineSwap r = line_swap(*t.m, *t.tok, docs, "Words:", 1);
  EXPECT_EQ(r.without_line, 1);
  EXPECT_EQ(r.past_context, 1);
  EXPECT_EQ(r.documents, 3);
  EXPECT_GT(r.tokens, 0);
  EXPECT_NE(r.loss_written, r.loss_swapped) << "a random model still reads the line a little";
  EXPECT_THROW(line_swap(*t.m, *t.tok, docs, "Summary:", 1), Error) << "no document has it";
  EXPECT_THROW(line_swap(*t.m, *t.tok, docs, "", 1), Error);
}

}  // namespace
}  // namespace slm::explain
