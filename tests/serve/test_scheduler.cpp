#include <gtest/gtest.h>

#include <thread>

#include "slm/infer/generate.h"
#include "slm/serve/scheduler.h"
#include "slm/util/error.h"
#include "tiny_model.h"

using namespace slm;

namespace {

using Setup = test::TinyModel;

const Setup& setup() {
  static Setup s;
  return s;
}

serve::Job greedy_job(const std::string& prompt, int max_tokens) {
  serve::Job j;
  j.prompt = setup().tok->encode(prompt);
  j.max_tokens = max_tokens;
  j.sampling.temperature = 0;
  j.stop_at_eot = false;
  return j;
}

serve::Progress wait_done(serve::Channel& c, std::string& text) {
  serve::Progress p;
  do {
    if (c.take(p, std::chrono::milliseconds(100))) text += p.text;
  } while (!p.done);
  return p;
}

}  // namespace

TEST(Scheduler, SequencesJoiningAndLeavingTheBatchDecodeAsEachAlone) {
  const auto& s = setup();
  serve::SchedulerOptions o;
  o.slots = 3;  // fewer slots than jobs: some wait in the queue and join mid-decode
  serve::Scheduler sched(*s.m, *s.tok, o);
  const std::vector<std::string> prompts = {"Once upon a time", "The dog", "liked to run. The", "a little",
                                            "Once", "there was", "The dog liked", "run"};
  std::vector<std::shared_ptr<serve::Channel>> ch;
  for (size_t i = 0; i < prompts.size(); ++i) {
    ch.push_back(std::make_shared<serve::Channel>());
    ASSERT_TRUE(sched.submit({{greedy_job(prompts[i], 10 + int(i) * 3), ch.back()}}));
    if (i % 3 == 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // arrive while others decode
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::string text;
    auto p = wait_done(*ch[i], text);
    infer::GenerateOptions g;
    g.max_tokens = 10 + int(i) * 3;
    g.stop_at_eot = false;
    g.sampling.temperature = 0;
    auto alone = infer::generate(*s.m, *s.tok, prompts[i], g);
    EXPECT_EQ(text, alone.text) << "prompt " << i;
    EXPECT_EQ(p.completion_tokens, alone.generated_tokens) << "prompt " << i;
    EXPECT_EQ(p.prompt_tokens, alone.prompt_tokens);
    EXPECT_EQ(p.finish, alone.finish == "context" ? "length" : alone.finish);
  }
  EXPECT_EQ(sched.stats().active, 0);
  EXPECT_GT(sched.stats().steps, 0u);
}

TEST(Scheduler, StopsAtAStopStringAndAtTheContext) {
  const auto& s = setup();
  serve::Scheduler sched(*s.m, *s.tok, {});
  auto whole = std::make_shared<serve::Channel>();
  ASSERT_TRUE(sched.submit({{greedy_job("Once", 30), whole}}));
  std::string full;
  wait_done(*whole, full);
  ASSERT_GE(full.size(), 8u);
  auto job = greedy_job("Once", 30);
  job.stop = {full.substr(4, 3)};
  auto cut = std::make_shared<serve::Channel>();
  ASSERT_TRUE(sched.submit({{job, cut}}));
  std::string text;
  EXPECT_EQ(wait_done(*cut, text).finish, "stop");
  EXPECT_EQ(text, full.substr(0, full.find(job.stop[0])));
  auto longer = std::make_shared<serve::Channel>();
  ASSERT_TRUE(sched.submit({{greedy_job("Once", 100000), longer}}));
  auto p = wait_done(*longer, text);
  EXPECT_EQ(p.finish, "length");
  // The cache holds 96 tokens; the last token drawn (from position 95's logits) needs no place in it.
  EXPECT_EQ(p.prompt_tokens + p.completion_tokens, 97) << "decoding ends at the context";
}

TEST(Scheduler, RefusesWhenTheQueueIsFullAndPromptsThatDoNotFit) {
  const auto& s = setup();
  serve::SchedulerOptions o;
  o.slots = 1;
  o.queue = 2;
  serve::Scheduler sched(*s.m, *s.tok, o);
  std::vector<serve::Scheduler::Submitted> three;
  for (int i = 0; i < 3; ++i) three.push_back({greedy_job("The dog", 5), std::make_shared<serve::Channel>()});
  EXPECT_FALSE(sched.submit(three)) << "all or none: three jobs do not fit a queue of two";
  three.pop_back();
  EXPECT_TRUE(sched.submit(three));
  serve::Job huge = greedy_job("", 5);
  huge.prompt.assign(96, s.tok->eot());
  EXPECT_THROW(sched.submit({{huge, std::make_shared<serve::Channel>()}}), Error);
  std::string text;
  for (auto& j : three) EXPECT_EQ(wait_done(*j.channel, text).finish, "length");
}

TEST(Scheduler, ACancelledJobLeavesWithoutDecoding) {
  const auto& s = setup();
  serve::Scheduler sched(*s.m, *s.tok, {});
  auto gone = std::make_shared<serve::Channel>();
  gone->cancel();  // its client left while it waited
  ASSERT_TRUE(sched.submit({{greedy_job("The dog", 50), gone}}));
  std::string text;
  auto p = wait_done(*gone, text);
  EXPECT_EQ(p.finish, "cancelled");
  EXPECT_EQ(p.completion_tokens, 0);
  EXPECT_EQ(text, "");
}
