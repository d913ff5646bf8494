#include <gtest/gtest.h>

#include <filesystem>

#include "slm/data/pack.h"
#include "slm/stories/story_corpus.h"
#include "slm/data/tokenizer_training.h"
#include "slm/model/model_files.h"
#include "slm/train/train_checkpoint.h"
#include "slm/train/pretrain.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::train;

namespace {

// Shards of a few hundred stories, made once for all the tests here.
const std::string& shard_dir() {
  static test::TempDir dir;
  static std::string path = test::make_story_shards(dir, 400, 512);
  return path;
}

PretrainOptions options(const std::string& out, int64_t steps) {
  PretrainOptions o;
  o.model.dim = 32;
  o.model.n_layers = 2;
  o.model.n_heads = 4;
  o.model.n_kv_heads = 2;
  o.model.hidden_dim = 64;
  o.model.context = 32;
  o.train.batch_size = 4;
  o.train.grad_accum = 2;
  o.train.max_steps = steps;
  o.train.warmup_steps = 3;
  o.train.lr = 3e-3;
  o.train.eval_every = 5;
  o.train.eval_batches = 2;
  o.train.checkpoint_every = 4;
  o.data_dir = shard_dir();
  o.out_dir = out;
  o.threads = 2;
  o.quiet = true;
  return o;
}

}  // namespace

TEST(Pretrain, LearnsAndWritesARunFolder) {
  test::TempDir dir;
  auto r = pretrain(options(dir / "run", 30));
  ASSERT_EQ(r.losses.size(), 30u);
  EXPECT_LT(r.losses.back(), r.losses.front() - 0.5) << "the loss falls (from ln 512 = 6.24)";
  EXPECT_GT(r.val_loss, 0);
  for (const char* f : {"run/model/config.json", "run/model/model.safetensors", "run/model/tokenizer.json",
                        "run/metrics.jsonl", "run/loss.svg", "run/run.json"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
  EXPECT_EQ(list_checkpoints(dir / "run").size(), 2u) << "the last two are kept";
  auto m = model::load_model(dir / "run/model");
  EXPECT_EQ(m->config().dim, 32);
}

TEST(Pretrain, ResumeIsBitIdentical) {
  test::TempDir dir;
  auto straight = pretrain(options(dir / "a", 14));
  auto first = options(dir / "b", 14);
  first.stop_after = 7;  // as if Ctrl-C came after step 7
  auto half = pretrain(first);
  ASSERT_TRUE(half.interrupted);
  ASSERT_EQ(half.steps, 7);
  auto second = options(dir / "b", 14);
  second.resume = dir / "b";
  auto rest = pretrain(second);
  ASSERT_EQ(rest.start_step, 7);
  std::vector<double> joined = half.losses;
  joined.insert(joined.end(), rest.losses.begin(), rest.losses.end());
  ASSERT_EQ(joined.size(), straight.losses.size());
  for (size_t i = 0; i < joined.size(); ++i) EXPECT_EQ(joined[i], straight.losses[i]) << "step " << i + 1;
  EXPECT_EQ(rest.val_loss, straight.val_loss);
}

// train.share_space_embeddings: another run than without it, that learns and resumes
// exactly (AdamW's moments are those of the shared rows; the checkpoint holds the model's).
TEST(Pretrain, SharedSpellingsLearnAndResumeBitIdentical) {
  test::TempDir dir;
  auto shared = [&](const char* name, int64_t steps) {
    auto o = options(dir / name, steps);
    o.train.share_space_embeddings = true;
    return o;
  };
  auto straight = pretrain(shared("a", 14));
  EXPECT_LT(straight.losses.back(), straight.losses.front() - 0.3);
  EXPECT_NE(straight.losses, pretrain(options(dir / "plain", 14)).losses);
  auto first = shared("b", 14);
  first.stop_after = 6;
  ASSERT_TRUE(pretrain(first).interrupted);
  auto second = shared("b", 14);
  second.resume = dir / "b";
  auto rest = pretrain(second);
  ASSERT_EQ(rest.start_step, 6);
  for (size_t i = 0; i < rest.losses.size(); ++i) EXPECT_EQ(rest.losses[i], straight.losses[6 + i]) << "step " << i + 7;
  EXPECT_EQ(rest.val_loss, straight.val_loss);
}

TEST(Pretrain, SameSeedSameRun) {
  test::TempDir dir;
  auto a = pretrain(options(dir / "a", 5)), b = pretrain(options(dir / "b", 5));
  EXPECT_EQ(a.losses, b.losses);
  auto o = options(dir / "c", 5);
  o.train.seed = 2;
  EXPECT_NE(pretrain(o).losses, a.losses);
}

TEST(Pretrain, ShardsWithALargerVocabularyAreAnError) {
  test::TempDir dir;
  auto o = options(dir / "run", 2);
  o.model.vocab_size = 100;
  try {
    pretrain(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the model's"), std::string::npos) << e.what();
  }
}

TEST(Pretrain, AContextLongerThanTheShardsIsAnError) {
  test::TempDir dir;
  auto o = options(dir / "run", 2);
  o.model.context = 1 << 20;
  EXPECT_THROW(pretrain(o), Error);
}

TEST(Pretrain, ResumingWithAnotherArchitectureIsAnError) {
  test::TempDir dir;
  pretrain(options(dir / "run", 4));
  auto o = options(dir / "run", 8);
  o.model.dim = 64;
  o.resume = dir / "run";
  try {
    pretrain(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.dim is 32"), std::string::npos) << e.message();
  }
}

// --init: a run starts from a model's weights (an upcycled one, say) rather than random ones.
TEST(Pretrain, StartsFromAModelAndRefusesAnotherShape) {
  test::TempDir dir;
  auto first = pretrain(options(dir / "a", 30));
  auto fresh = options(dir / "fresh", 2);
  auto o = options(dir / "b", 2);
  o.init = first.model_dir;
  const auto from_model = pretrain(o), from_random = pretrain(fresh);
  // Its first step's loss is where the first run ended, not near ln 512.
  EXPECT_LT(from_model.losses.front(), from_random.losses.front() - 0.5);
  EXPECT_NEAR(from_model.losses.front(), first.losses.back(), 0.5);
  // Without a config of its own, the run takes the model's.
  auto own = options(dir / "c", 1);
  own.init = first.model_dir;
  own.model = model::ModelConfig{};
  own.model.n_layers = 7;  // ignored: not given
  own.model_given = false;
  EXPECT_EQ(model::load_model_config(pretrain(own).model_dir).n_layers, 2);
  auto wider = options(dir / "d", 2);
  wider.init = first.model_dir;
  wider.model.hidden_dim = 80;
  try {
    pretrain(wider);
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.message();
    EXPECT_NE(what.find("mlp.gate_proj.weight [80, 32]"), std::string::npos) << what;
    EXPECT_NE(what.find("[64, 32]"), std::string::npos) << what;
    EXPECT_NE(what.find("--init"), std::string::npos) << what;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "d/model"));
}

TEST(Pretrain, ACorruptCheckpointIsNamed) {
  test::TempDir dir;
  pretrain(options(dir / "run", 4));
  auto cp = list_checkpoints(dir / "run").back();
  std::filesystem::resize_file(cp + "/model.safetensors", 1000);
  auto o = options(dir / "run", 8);
  o.resume = cp;
  try {
    pretrain(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.where().find("model.safetensors"), std::string::npos) << e.message();
  }
}

TEST(Pretrain, DivergenceStopsWithoutSavingOverTheLastCheckpoint) {
  test::TempDir dir;
  auto o = options(dir / "run", 40);
  o.train.lr = 1e8;
  o.train.min_lr = 1e7;
  o.train.warmup_steps = 0;
  o.train.grad_clip = 0;
  try {
    pretrain(o);
    FAIL() << "expected the loss to diverge";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at step"), std::string::npos) << e.what();
  }
  for (const auto& cp : list_checkpoints(dir / "run")) {
    auto m = model::load_model(cp);
    for (int64_t i = 0; i < m->num_params(); ++i) ASSERT_TRUE(std::isfinite(m->params()[i])) << cp;
  }
}
