// Progress output when stderr is a log, not a terminal: one line every few seconds and the
// final one, however often the work reports; on a terminal, redraws in place. The clock is
// a hand-moved one, so the test takes no time and cannot flake.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "slm/util/progress.h"

using namespace slm;
using Clock = std::chrono::steady_clock;

namespace {

struct FakeOutput {
  std::string text;
  Clock::time_point t{};
  void advance(double seconds) { t += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)); }
  ProgressOutput output(bool tty) {
    return {tty, [this](const std::string& s) { text += s; }, [this] { return t; }};
  }
  long lines() const { return long(std::count(text.begin(), text.end(), '\n')); }
};

}  // namespace

TEST(Progress, ALogGetsALineEveryFewSecondsNotPerUpdate) {
  FakeOutput f;
  {
    Progress bar("pack", 1000, "MB", false, f.output(false));
    for (int i = 1; i <= 1000; ++i) {  // 1000 updates over 20 s: one every 20 ms
      f.advance(0.02);
      bar.update(i);
    }
    EXPECT_EQ(f.lines(), long(20 / Progress::kPlainEvery));  // at 5, 10, 15, 20 s
    bar.finish();
  }
  EXPECT_EQ(f.lines(), 5);  // and the final line, once
  EXPECT_EQ(f.text.find('\r'), std::string::npos) << "no terminal control in a log";
  EXPECT_NE(f.text.find("pack [####"), std::string::npos);
  EXPECT_NE(f.text.rfind("1000.0/1000.0 MB"), std::string::npos);
  EXPECT_NE(f.text.find("| 0:20"), std::string::npos) << "the final line gives the time taken:\n" << f.text;
}

TEST(Progress, NothingBeforeTheIntervalButTheFinalLine) {
  FakeOutput f;
  Progress bar("merges", 0, "tokens", false, f.output(false));
  for (int i = 0; i < 100; ++i) f.advance(0.04), bar.update(i);  // 4 s: under the interval
  EXPECT_EQ(f.text, "");
  bar.finish("done");
  bar.finish("again");  // a second finish draws nothing
  EXPECT_EQ(f.lines(), 1);
  EXPECT_NE(f.text.find("99.0 tokens"), std::string::npos);
  EXPECT_NE(f.text.find("| done\n"), std::string::npos);
}

TEST(Progress, ATerminalRedrawsInPlaceAndQuietSaysNothing) {
  FakeOutput f;
  {
    Progress bar("eval", 10, "prompts", false, f.output(true));
    for (int i = 1; i <= 10; ++i) f.advance(0.5), bar.update(i);
  }  // not finished: the line is ended so the shell prompt starts on its own
  EXPECT_EQ(long(std::count(f.text.begin(), f.text.end(), '\r')), 10);
  EXPECT_EQ(f.lines(), 1);
  FakeOutput q;
  Progress quiet("eval", 10, "prompts", true, q.output(false));
  q.advance(60), quiet.update(5), quiet.finish();
  EXPECT_EQ(q.text, "");
}
