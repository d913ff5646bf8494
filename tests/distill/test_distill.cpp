// Logit distillation end to end through the library: a teacher pre-trained here, students
// trained from it on the fly and from a top-k cache, exact resume, and the refusals
// (another tokenizer, reverse KL from a cache).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "slm/distill/distill.h"
#include "slm/distill/topk_cache.h"
#include "slm/model/model_files.h"
#include "slm/tensor/ops.h"
#include "slm/train/loss_plot.h"
#include "slm/train/pretrain.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::distill;
namespace fs = std::filesystem;

namespace {

const std::string& shard_dir() {
  static test::TempDir dir;
  static std::string path = test::make_story_shards(dir, 400, 512);
  return path;
}

model::ModelConfig small(int dim, int context) {
  model::ModelConfig m;
  m.dim = dim;
  m.n_layers = 2;
  m.n_heads = 4;
  m.n_kv_heads = 2;
  m.hidden_dim = 2 * dim;
  m.context = context;
  return m;
}

train::TrainConfig quick(int64_t steps) {
  train::TrainConfig t;
  t.batch_size = 4;
  t.max_steps = steps;
  t.warmup_steps = 3;
  t.lr = 3e-3;
  t.eval_every = 5;
  t.eval_batches = 2;
  t.checkpoint_every = 4;
  return t;
}

// The teacher: a model of dim 32 pre-trained for 40 steps, made once.
const std::string& teacher_dir() {
  static test::TempDir dir;
  static std::string path = [] {
    train::PretrainOptions o;
    o.model = small(32, 64);
    o.train = quick(40);
    o.data_dir = shard_dir();
    o.out_dir = dir / "teacher";
    o.threads = 1;
    o.quiet = true;
    return train::pretrain(o).model_dir;
  }();
  return path;
}

// The student's validation (next-token) losses of a run, by evaluation.
std::vector<double> val_losses(const std::string& run) {
  std::vector<train::CurvePoint> tr, val;
  train::read_loss_curves(run + "/metrics.jsonl", tr, val);
  std::vector<double> out;
  for (const auto& p : val) out.push_back(p.loss);
  return out;
}

DistillOptions options(const std::string& out, int64_t steps) {
  DistillOptions o;
  o.teacher = teacher_dir();
  o.student = small(16, 32);
  o.train = quick(steps);
  o.data_dir = shard_dir();
  o.out_dir = out;
  o.kd = {0.5, 2.0, Divergence::forward};
  o.threads = 1;  // the same arithmetic in every run, for the exact-resume check
  o.quiet = true;
  return o;
}

}  // namespace

// With cross-entropy as the caller's loss, forward_backward_logits is forward_backward:
// the same loss and gradients, an MoE model's router aux losses included.
static void check_logits_path(const model::ModelConfig& cfg) {
  model::Transformer<float> a(cfg), b(cfg);
  a.init_weights(3), b.init_weights(3);
  std::vector<int32_t> x(32), y(32);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = (i * 7) % 64, y[size_t(i)] = (i * 5 + 1) % 64;
  a.zero_grad(), b.zero_grad();
  const double la = a.forward_backward(x.data(), y.data(), 2, 16, 1.0 / 32);
  const double lb = b.forward_backward_logits(x.data(), 2, 16, [&](float* z) {
    return tensor::cross_entropy_forward_backward(z, y.data(), 32, 64, 1.0 / 32);
  }, 1.0 / 32);
  EXPECT_DOUBLE_EQ(la, lb);
  for (int64_t i = 0; i < a.num_params(); ++i) ASSERT_EQ(a.grads()[i], b.grads()[i]) << i;
}

TEST(Distill, ForwardBackwardLogitsWithCrossEntropyIsForwardBackward) {
  auto cfg = small(16, 16);
  cfg.vocab_size = 64;
  check_logits_path(cfg);
}

TEST(Distill, AnMoeStudentKeepsItsRouterAuxLosses) {
  auto cfg = small(16, 16);
  cfg.vocab_size = 64;
  cfg.n_experts = 4, cfg.experts_per_token = 2, cfg.expert_hidden_dim = 16;
  cfg.router_z_loss_coef = 1e-3;
  check_logits_path(cfg);
  // and they are there: without them (grad_scale 0) the router's gradient differs
  model::Transformer<float> a(cfg), b(cfg);
  a.init_weights(3), b.init_weights(3);
  std::vector<int32_t> x(32), y(32);
  for (int i = 0; i < 32; ++i) x[size_t(i)] = (i * 3) % 64, y[size_t(i)] = (i * 11 + 2) % 64;
  a.zero_grad(), b.zero_grad();
  auto ce = [&](float* z) { return tensor::cross_entropy_forward_backward(z, y.data(), 32, 64, 1.0 / 32); };
  const double with = a.forward_backward_logits(x.data(), 2, 16, ce, 1.0 / 32);
  const double without = b.forward_backward_logits(x.data(), 2, 16, ce);
  EXPECT_GT(with - without, 1e-4);
  EXPECT_NEAR(with - without, a.aux_loss(), 1e-9);
  double diff = 0;
  for (int64_t i = 0; i < a.num_params(); ++i) diff += std::abs(double(a.grads()[i]) - b.grads()[i]);
  EXPECT_GT(diff, 1e-6);
}

TEST(Distill, OnTheFlyStudentLearnsAndRecordsTheRun) {
  test::TempDir dir;
  auto r = distill::distill(options(dir / "run", 30));
  ASSERT_EQ(r.losses.size(), 30u);
  // The KD loss need not fall much (the student starts near the uniform distribution, as
  // does a weak teacher at temperature 2); the student's next-token loss does.
  auto val = val_losses(dir / "run");
  ASSERT_EQ(val.size(), 6u);
  EXPECT_LT(val.back(), val.front() - 0.3);
  EXPECT_DOUBLE_EQ(r.val_loss, val.back());
  auto run = nlohmann::json::parse(read_file(dir / "run/run.json"));
  EXPECT_EQ(run["distill"]["temperature"], 2.0);
  EXPECT_EQ(run["distill"]["divergence"], "forward");
  auto m = model::load_model(dir / "run/model");
  EXPECT_EQ(m->config().dim, 16);
  EXPECT_EQ(m->config().vocab_size, 512) << "the teacher's vocabulary";
  EXPECT_TRUE(fs::exists(dir / "run/model/tokenizer.json"));
}

TEST(Distill, ReverseKlTrains) {
  test::TempDir dir;
  auto o = options(dir / "run", 20);
  o.kd.divergence = Divergence::reverse;
  distill::distill(o);
  auto val = val_losses(dir / "run");
  EXPECT_LT(val.back(), val.front() - 0.2);
}

TEST(Distill, TopkCacheIsMadeOnceThenReusedAndResumesExactly) {
  test::TempDir dir;
  auto o = options(dir / "a", 12);
  o.cache_topk = 8;
  o.cache_dir = dir / "cache";
  auto straight = distill::distill(o);
  TopkCache cache(dir / "cache");
  EXPECT_EQ(cache.k(), 8);
  EXPECT_EQ(cache.context(), 32);
  EXPECT_EQ(cache.windows(), 12 * 4);
  // The cached top-k are the teacher's largest logits, in order.
  for (int i = 1; i < 8; ++i) EXPECT_GE(cache.logits(0)[i - 1], cache.logits(0)[i]);
  const auto made = fs::last_write_time(dir / "cache/topk_ids.bin");

  // Interrupted and resumed from the same cache: the same losses, bit for bit.
  auto first = options(dir / "b", 12);
  first.cache_topk = 8;
  first.cache_dir = dir / "cache";
  first.stop_after = 5;
  auto half = distill::distill(first);
  ASSERT_TRUE(half.interrupted);
  auto second = first;
  second.stop_after = -1;
  second.resume = dir / "b";
  auto rest = distill::distill(second);
  EXPECT_EQ(fs::last_write_time(dir / "cache/topk_ids.bin"), made) << "the cache was reused, not made again";
  std::vector<double> joined = half.losses;
  joined.insert(joined.end(), rest.losses.begin(), rest.losses.end());
  ASSERT_EQ(joined.size(), straight.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], straight.losses[i]) << "step " << i + 1;

  // Asked for another k, the cache is made again.
  auto other = options(dir / "c", 3);
  other.cache_topk = 4;
  other.cache_dir = dir / "cache";
  distill::distill(other);
  EXPECT_EQ(TopkCache(dir / "cache").k(), 4);
}

TEST(Distill, RefusesATeacherWithAnotherTokenizer) {
  test::TempDir dir;
  // Shards of another tokenizer (vocabulary 300): the 512-token teacher does not fit.
  std::string other = test::make_story_shards(dir, 100, 300);
  auto o = options(dir / "run", 5);
  o.data_dir = other;
  try {
    distill::distill(o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("tokenizer"), std::string::npos) << e.message();
  }
  EXPECT_FALSE(fs::exists(dir / "run")) << "nothing written";
}

TEST(Distill, RefusesReverseKlFromACacheAndATeacherWithAShortContext) {
  test::TempDir dir;
  auto o = options(dir / "run", 5);
  o.cache_topk = 4;
  o.kd.divergence = Divergence::reverse;
  EXPECT_THROW(distill::distill(o), Error);
  auto p = options(dir / "run2", 5);
  p.student.context = 128;  // the teacher's is 64
  EXPECT_THROW(distill::distill(p), Error);
  EXPECT_FALSE(fs::exists(dir / "run"));
  EXPECT_FALSE(fs::exists(dir / "run2"));
}
