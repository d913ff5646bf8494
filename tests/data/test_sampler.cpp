#include <gtest/gtest.h>

#include <map>
#include <set>

#include "slm/data/sampler.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::data;

namespace {

// A shard of the given tokens in a temporary folder.
struct ShardFile {
  test::TempDir dir;
  std::unique_ptr<TokenShard> shard;
  explicit ShardFile(const std::vector<uint32_t>& toks, const std::string& name = "s.bin") {
    ShardWriter w(dir / name, 2);
    w.append(toks.data(), toks.size());
    w.commit();
    shard = std::make_unique<TokenShard>(dir / name);
  }
};

std::vector<uint32_t> iota_tokens(uint32_t n) {
  std::vector<uint32_t> t(n);
  for (uint32_t i = 0; i < n; ++i) t[i] = i;
  return t;
}

}  // namespace

// The table from "Build a Large Language Model (From Scratch)": the input/target pairs
// that one window of "Every effort moves you forward" teaches.
TEST(Sampler, ReproducesTheEveryEffortMovesYouForwardTable) {
  const std::vector<std::string> vocab = {"Every", "effort", "moves", "you", "forward"};
  ShardFile f({0, 1, 2, 3, 4});
  SamplerOptions o;
  o.context = 4;
  o.batch = 1;
  o.shuffle = false;
  BatchSampler s({f.shard.get()}, o);
  int32_t x[4], y[4];
  s.next(x, y);
  std::vector<std::string> rows;
  for (int t = 0; t < 4; ++t) {
    std::string context;
    for (int k = 0; k <= t; ++k) context += (k ? " " : "") + vocab[size_t(x[k])];
    rows.push_back(context + " ---> " + vocab[size_t(y[t])]);
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"Every ---> effort", "Every effort ---> moves",
                                            "Every effort moves ---> you", "Every effort moves you ---> forward"}));
}

TEST(Sampler, StrideSetsTheOverlapOfWindows) {
  ShardFile f(iota_tokens(20));
  SamplerOptions o;
  o.context = 4;
  o.batch = 1;
  o.shuffle = false;
  o.stride = 2;
  BatchSampler s({f.shard.get()}, o);
  EXPECT_EQ(s.windows(), 8u);  // starts 0, 2, ..., 14 (a window needs 5 tokens)
  int32_t x[4], y[4];
  s.next(x, y);
  s.next(x, y);
  EXPECT_EQ(std::vector<int32_t>(x, x + 4), (std::vector<int32_t>{2, 3, 4, 5}));
  EXPECT_EQ(std::vector<int32_t>(y, y + 4), (std::vector<int32_t>{3, 4, 5, 6}));
}

TEST(Sampler, WindowsNeverCrossShards) {
  ShardFile a(iota_tokens(10), "a.bin"), b(iota_tokens(7), "b.bin");
  SamplerOptions o;
  o.context = 3;
  o.batch = 1;
  o.shuffle = false;
  BatchSampler s({a.shard.get(), b.shard.get()}, o);
  // A window needs 4 tokens: shard a (10 tokens) starts 0, 3, 6; shard b (7) starts 0, 3.
  ASSERT_EQ(s.windows(), 3u + 2u);
  std::vector<int32_t> firsts;
  for (int k = 0; k < 5; ++k) {
    int32_t x[3], y[3];
    s.next(x, y);
    firsts.push_back(x[0]);
    // Both shards count 0, 1, 2, ...: a window inside one shard is consecutive.
    for (int t = 0; t < 3; ++t) EXPECT_EQ(y[t], x[t] + 1);
    for (int t = 0; t + 1 < 3; ++t) EXPECT_EQ(x[t + 1], x[t] + 1);
  }
  EXPECT_EQ(firsts, (std::vector<int32_t>{0, 3, 6, 0, 3}));
}

TEST(Sampler, ShuffledOrderIsDeterministicAndCoversEveryWindowOnce) {
  ShardFile f(iota_tokens(1001));
  SamplerOptions o;
  o.context = 10;
  o.batch = 4;
  o.seed = 42;
  BatchSampler a({f.shard.get()}, o), b({f.shard.get()}, o);
  std::multiset<int32_t> starts;
  std::vector<int32_t> x(40), y(40), x2(40), y2(40);
  for (size_t k = 0; k < a.batches_per_epoch(); ++k) {
    a.next(x.data(), y.data());
    b.next(x2.data(), y2.data());
    EXPECT_EQ(x, x2);
    for (int r = 0; r < 4; ++r) starts.insert(x[size_t(r) * 10]);
  }
  EXPECT_EQ(starts.size(), 100u);
  EXPECT_EQ(std::set<int32_t>(starts.begin(), starts.end()).size(), 100u) << "no window twice in an epoch";
  o.seed = 43;
  BatchSampler c({f.shard.get()}, o);
  c.next(x2.data(), y2.data());
  a.restore({0, 0});
  a.next(x.data(), y.data());
  EXPECT_NE(x, x2) << "another seed, another order";
}

TEST(Sampler, WorkersSeeDisjointWindows) {
  ShardFile f(iota_tokens(4001));
  std::set<int32_t> seen;
  size_t total = 0;
  for (int rank = 0; rank < 3; ++rank) {
    SamplerOptions o;
    o.context = 8;
    o.batch = 2;
    o.rank = rank;
    o.world = 3;
    BatchSampler s({f.shard.get()}, o);
    std::vector<int32_t> x(16), y(16);
    for (size_t k = 0; k < s.batches_per_epoch(); ++k) {
      s.next(x.data(), y.data());
      for (int r = 0; r < 2; ++r) {
        EXPECT_TRUE(seen.insert(x[size_t(r) * 8]).second) << "window seen by two workers";
        ++total;
      }
    }
  }
  EXPECT_EQ(total, 3 * (500 / 3 / 2 * 2u));
}

TEST(Sampler, RestoringStateGivesTheSameBatches) {
  ShardFile f(iota_tokens(3001));
  SamplerOptions o;
  o.context = 16;
  o.batch = 3;
  BatchSampler a({f.shard.get()}, o);
  std::vector<int32_t> x(48), y(48);
  for (int k = 0; k < 100; ++k) a.next(x.data(), y.data());  // crosses epochs (58 a epoch)
  auto st = a.state();
  EXPECT_EQ(st.epoch, 1u);
  std::vector<std::vector<int32_t>> want;
  for (int k = 0; k < 5; ++k) {
    a.next(x.data(), y.data());
    want.push_back(x);
  }
  BatchSampler b({f.shard.get()}, o);
  b.restore(st);
  for (int k = 0; k < 5; ++k) {
    b.next(x.data(), y.data());
    EXPECT_EQ(x, want[size_t(k)]);
  }
}

TEST(Sampler, TooShortDataIsAClearError) {
  ShardFile f(iota_tokens(10));
  SamplerOptions o;
  o.context = 64;
  o.batch = 1;
  try {
    BatchSampler s({f.shard.get()}, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("too few for one step"), std::string::npos);
  }
}

// Data parallel: in one step, worker r's k-th batch is slot r x accum + k of the step's
// windows, so 2 workers x 1 batch read what 1 worker x 2 batches reads, batch for batch,
// and the position (over the whole world) is the same after each step.
TEST(Sampler, TwoWorkersReadTheSlotsOfOneWorkerWithTwoBatches) {
  ShardFile f(iota_tokens(4001));
  SamplerOptions o;
  o.context = 8;
  o.batch = 3;
  SamplerOptions one = o, w0 = o, w1 = o;
  one.accum = 2;
  w0.world = w1.world = 2, w1.rank = 1;
  BatchSampler s1({f.shard.get()}, one), s_w0({f.shard.get()}, w0), s_w1({f.shard.get()}, w1);
  std::vector<int32_t> x(24), y(24), x0(24), x1(24);
  for (int step = 0; step < 100; ++step) {  // 500 windows: 83 steps of 6 an epoch, so this crosses one
    s1.next(x.data(), y.data());
    s_w0.next(x0.data(), y.data());
    EXPECT_EQ(x, x0) << "step " << step << ": worker 0";
    s1.next(x.data(), y.data());
    s_w1.next(x1.data(), y.data());
    EXPECT_EQ(x, x1) << "step " << step << ": worker 1";
    EXPECT_EQ(s1.state().position, s_w0.state().position);
    EXPECT_EQ(s1.state().epoch, s_w1.state().epoch);
  }
}
