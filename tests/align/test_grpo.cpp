// GRPO end to end on a toy task small enough for a unit test: a random model must learn
// to emit a target token (1 in 300 at first) within 80 steps; the first step's KL to the reference is exactly zero;
// a run stopped mid-way (even between two updates on one batch) resumes bit-identically.
#include <gtest/gtest.h>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "align/grpo_toy.h"
#include "slm/align/grpo.h"
#include "slm/data/pack.h"
#include "slm/eval/story_eval.h"
#include "slm/model/model_files.h"
#include "slm/train/pretrain.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::align;
using nlohmann::json;

using namespace slm::test::grpo_toy;

TEST(Grpo, LearnsToEmitATargetTokenAndStartsWithZeroKl) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  auto policy = random_model(), ref = random_model();
  auto lo = loop(dir, "toy", 80, 2e-2);
  auto recs = requests();
  auto res = grpo_train(policy, ref, tok(), recs, target_reward(target), toy_settings(), lo);
  ASSERT_FALSE(res.model_dir.empty());
  auto rows = metrics(lo.out_dir);
  ASSERT_EQ(rows.size(), 80u);
  // Step 1: the policy is the reference, so the KL is exactly zero.
  EXPECT_EQ(rows[0]["kl"].get<double>(), 0.0);
  EXPECT_GT(rows[40]["kl"].get<double>(), 0.0);
  double first = 0, last = 0;
  std::string curve;
  for (const auto& r : rows) curve += fmt::format(" {:.2f}", r["reward"].get<double>());
  for (int i = 0; i < 10; ++i) first += rows[size_t(i)]["reward"].get<double>() / 10;
  for (size_t i = rows.size() - 10; i < rows.size(); ++i) last += rows[i]["reward"].get<double>() / 10;
  EXPECT_LT(first, 0.1);
  EXPECT_GT(last, 0.5) << "the reward by step:" << curve;
  EXPECT_TRUE(std::filesystem::exists(lo.out_dir + "/reward.svg"));
}

TEST(Grpo, ResumeIsBitIdenticalEvenBetweenUpdatesOnOneBatch) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  GrpoSettings s = toy_settings();
  s.updates_per_batch = 2;  // step 3 of 6 stops half-way through a batch's two updates
  auto recs = requests();
  auto ref = random_model();

  auto straight = random_model();
  grpo_train(straight, ref, tok(), recs, target_reward(target), s, loop(dir, "straight", 6));

  auto first = random_model();
  auto lo = loop(dir, "resumed", 6);
  lo.stop_after = 3;
  auto stopped = grpo_train(first, ref, tok(), recs, target_reward(target), s, lo);
  ASSERT_TRUE(stopped.interrupted);
  auto second = random_model();
  second.init_weights(99);  // whatever it holds is replaced by the checkpoint
  lo.stop_after = -1;
  lo.resume = lo.out_dir;
  auto done = grpo_train(second, ref, tok(), recs, target_reward(target), s, lo);
  ASSERT_FALSE(done.model_dir.empty());
  ASSERT_EQ(std::memcmp(straight.params(), second.params(), size_t(straight.num_params()) * sizeof(float)), 0);
  auto a = metrics(dir / "straight"), b = metrics(lo.out_dir);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i]["reward"], b[i]["reward"]) << "step " << i + 1;
}

// DAPO's dynamic sampling on the toy task, where most groups at first never emit the
// target (every reward 0, nothing to learn): those are set aside and more requests drawn,
// so the batches train on groups that differ; the run still resumes bit for bit.
TEST(Grpo, DynamicSamplingTrainsOnGroupsThatDifferAndResumes) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  GrpoSettings s = toy_settings();
  s.filter_std = 0, s.max_rounds = 4, s.sample_every = 1, s.scale = RewardScale::none;
  auto recs = requests();
  auto ref = random_model();

  auto straight = random_model();
  auto lo = loop(dir, "straight", 30, 2e-2);
  grpo_train(straight, ref, tok(), recs, target_reward(target), s, lo);
  auto rows = metrics(lo.out_dir);
  ASSERT_EQ(rows.size(), 30u);
  // At first few groups pass (rewards all 0), so batches take more than one round.
  EXPECT_LT(rows[0]["groups_passed"].get<double>(), 0.5);
  EXPECT_GT(rows[0]["sample_rounds"].get<int>(), 1);
  // The logged group of each batch is one the filter kept whenever any passed: its
  // completions' advantages are not all zero.
  std::ifstream in(lo.out_dir + "/samples.jsonl");
  std::map<int, double> spread;  // batch -> sum |advantage|
  std::string line;
  while (std::getline(in, line)) {
    auto j = json::parse(line);
    spread[j["batch"].get<int>()] += std::abs(j["advantage"].get<double>());
  }
  ASSERT_EQ(spread.size(), 30u);
  for (const auto& [batch, sum] : spread) {
    if (rows[size_t(batch - 1)]["groups_passed"].get<double>() > 0) {
      EXPECT_GT(sum, 0.0) << "batch " << batch;
    }
  }
  double last = 0;
  for (size_t i = rows.size() - 5; i < rows.size(); ++i) last += rows[i]["reward"].get<double>() / 5;
  EXPECT_GT(last, 0.3);

  // Stopped at step 12 and resumed: the same weights as straight through.
  auto first = random_model();
  auto lr = loop(dir, "resumed", 30, 2e-2);
  lr.stop_after = 12;
  ASSERT_TRUE(grpo_train(first, ref, tok(), recs, target_reward(target), s, lr).interrupted);
  auto second = random_model();
  lr.stop_after = -1, lr.resume = lr.out_dir;
  ASSERT_FALSE(grpo_train(second, ref, tok(), recs, target_reward(target), s, lr).model_dir.empty());
  ASSERT_EQ(std::memcmp(straight.params(), second.params(), size_t(straight.num_params()) * sizeof(float)), 0);
}

// --filter-rules: the filter looks at one rule's scores. The toy reward, named "words" here,
// plus a little of a "length" score that varies with every completion: on the total every
// group passes; on "words" only those where some completion emitted the target. An unknown
// rule is refused before any sampling.
TEST(Grpo, DynamicSamplingFiltersOnOneRule) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  RewardFn with_noise = [base = target_reward(target)](const std::vector<Completion>& cs) {
    auto out = base(cs);
    for (size_t i = 0; i < cs.size(); ++i) {
      out[i].rules["words"] = out[i].rules.at("target");
      out[i].rules.erase("target");
      out[i].rules["length"] = double(cs[i].text.size() % 7) / 7;
      out[i].total += 0.1 * out[i].rules["length"];
    }
    return out;
  };
  GrpoSettings s = toy_settings();
  s.filter_std = 0, s.max_rounds = 3;
  auto recs = requests();
  auto ref = random_model();
  auto passed = [&](const std::vector<std::string>& rules, const std::string& name) {
    s.filter_rules = rules;
    auto policy = random_model();
    grpo_train(policy, ref, tok(), recs, with_noise, s, loop(dir, name, 1));
    return metrics(dir / name).at(0)["groups_passed"].get<double>();
  };
  EXPECT_EQ(passed({}, "total"), 1.0);
  EXPECT_LT(passed({"answer", "words"}, "words"), 0.5);  // the first that applies
  EXPECT_EQ(passed({"answer"}, "absent"), 1.0);  // a rule no completion has: the total decides
  s.filter_rules = {"words", "wrods"};
  auto policy = random_model();
  try {
    grpo_train(policy, ref, tok(), recs, with_noise, s, loop(dir, "bad", 1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown reward rule 'wrods'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "bad"));
}

// --word-credit alone (a reward that pays nothing, so every group advantage is 0): the
// tokens that spell a required word in a counted sentence carry their own advantage, and
// the model learns to write the word; without the credit it learns nothing.
TEST(Grpo, WordCreditAloneTeachesTheRequiredWord) {
  test::TempDir dir;
  auto recs = requests();
  for (auto& r : recs) r.task = "write_words", r.words = {"the"};
  RewardFn nothing = [](const std::vector<Completion>& cs) { return std::vector<Reward>(cs.size()); };
  GrpoSettings s = toy_settings();
  s.max_tokens = 8;
  auto ref = random_model();
  auto credited = [&](double credit, const std::string& name) {
    s.word_credit = credit;
    auto policy = random_model();
    grpo_train(policy, ref, tok(), recs, nothing, s, loop(dir, name, 60, 2e-2));
    auto rows = metrics(dir / name);
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) first += rows.at(size_t(i)).value("credited_tokens", 0.0) / 10;
    for (size_t i = rows.size() - 10; i < rows.size(); ++i) last += rows.at(i).value("credited_tokens", 0.0) / 10;
    return std::make_pair(first, last);
  };
  auto [first, last] = credited(1.0, "credit");
  EXPECT_LT(first, 0.3);
  EXPECT_GT(last, 0.6) << "credited tokens a completion, first 10 steps " << first;
  // Off: the metric is not logged and nothing moves (all advantages 0, KL 0 throughout).
  s.word_credit = 0;
  auto policy = random_model();
  grpo_train(policy, ref, tok(), recs, nothing, s, loop(dir, "off", 5, 2e-2));
  for (const auto& row : metrics(dir / "off")) {
    EXPECT_FALSE(row.contains("credited_tokens"));
    EXPECT_EQ(row["kl"].get<double>(), 0.0);
  }
}

// --flaw-debit alone (a reward that pays nothing): the random model's completions are
// mostly made-up words, the tokens that spell them carry -D each, and the model learns to
// write fewer of them; the charged tokens, as samples.jsonl shows them, are pieces of the
// completion's flawed words. A resumed run refuses another debit.
TEST(Grpo, FlawDebitAloneCutsTheFlawedTokens) {
  test::TempDir dir;
  auto recs = requests();
  RewardFn nothing = [](const std::vector<Completion>& cs) { return std::vector<Reward>(cs.size()); };
  GrpoSettings s = toy_settings();
  s.max_tokens = 8, s.flaw_debit = 1.0, s.sample_every = 1;
  auto ref = random_model();
  auto policy = random_model();
  auto lo = loop(dir, "debit", 60, 2e-2);
  grpo_train(policy, ref, tok(), recs, nothing, s, lo);
  auto rows = metrics(lo.out_dir);
  ASSERT_EQ(rows.size(), 60u);
  double first = 0, last = 0;
  for (int i = 0; i < 10; ++i) first += rows.at(size_t(i))["debited_tokens"].get<double>() / 10;
  for (size_t i = rows.size() - 10; i < rows.size(); ++i) last += rows.at(i)["debited_tokens"].get<double>() / 10;
  EXPECT_GT(first, 0.2) << "a random model's 8 tokens spell made-up words";
  EXPECT_LT(last, first / 2) << "debited tokens a completion, first 10 steps " << first;
  EXPECT_TRUE(rows[0].contains("flaws.misspelled") && rows[0].contains("flaws.loop"));
  std::ifstream in(lo.out_dir + "/samples.jsonl");
  std::string line;
  int charged = 0;
  while (std::getline(in, line)) {
    auto j = json::parse(line);
    std::string rest = j["completion"].get<std::string>();
    for (const auto& t : j["debited"]) {  // in order, each a piece of the completion
      const auto at = rest.find(t.get<std::string>());
      ASSERT_NE(at, std::string::npos) << t << " in " << j["completion"];
      rest = rest.substr(at + t.get<std::string>().size());
      ++charged;
    }
  }
  EXPECT_GT(charged, 0);

  lo = loop(dir, "resumed", 6, 2e-2);
  lo.stop_after = 3;
  auto first_half = random_model();
  ASSERT_TRUE(grpo_train(first_half, ref, tok(), recs, nothing, s, lo).interrupted);
  s.flaw_debit = 0.5;
  lo.stop_after = -1, lo.resume = lo.out_dir;
  auto second_half = random_model();
  try {
    grpo_train(second_half, ref, tok(), recs, nothing, s, lo);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--flaw-debit 1"), std::string::npos) << e.what();
  }
  s.flaw_debit = 1.0;  // the same debit resumes
  EXPECT_FALSE(grpo_train(second_half, ref, tok(), recs, nothing, s, lo).model_dir.empty());
}

// PPO-ptx's pre-training mix (--ptx-data): with a reward that pays nothing, GRPO alone
// leaves the model (nearly) as it was (every advantage 0, KL 0), and the mix alone trains it on the
// shards, so their loss falls; with two micro-batches a step a stopped run resumes bit for
// bit, the windows included.
TEST(Grpo, PretrainMixTrainsOnTheShardsAndResumes) {
  test::TempDir dir;
  auto recs = requests();
  RewardFn nothing = [](const std::vector<Completion>& cs) { return std::vector<Reward>(cs.size()); };
  GrpoSettings s = toy_settings();
  s.ptx.data = shard_dir(), s.ptx.coef = 1.0, s.ptx.batch = 2, s.ptx.context = 64;
  data::OpenShards val(data::list_shards(shard_dir(), "val"));
  auto ref = random_model();
  const double before = train::shard_loss(ref, val, 2, 64, 4);

  auto run = [&](const std::string& name, int64_t stop_after, bool resume) {
    auto lo = loop(dir, name, 12, 2e-2);
    lo.train.grad_accum = 2;
    lo.stop_after = stop_after;
    if (resume) lo.resume = lo.out_dir;
    auto policy = random_model();
    grpo_train(policy, ref, tok(), recs, nothing, s, lo);
    return policy;
  };
  auto mixed = run("mixed", -1, false);
  const double after = train::shard_loss(mixed, val, 2, 64, 4);
  EXPECT_LT(after, before - 0.5) << "the shards' loss, before " << before;
  auto rows = metrics(dir / "mixed");
  ASSERT_EQ(rows.size(), 12u);
  EXPECT_LT(rows.back()["ptx_loss"].get<double>(), rows.front()["ptx_loss"].get<double>());

  run("resumed", 5, false);
  auto resumed = run("resumed", -1, true);
  ASSERT_EQ(std::memcmp(mixed.params(), resumed.params(), size_t(mixed.num_params()) * sizeof(float)), 0);
  // Windows of another shape from the same place would be other windows: refused.
  run("reshaped", 5, false);
  s.ptx.batch = 3;
  try {
    run("reshaped", -1, true);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("--ptx-batch"), std::string::npos) << e.message();
  }

  // Without the mix next to nothing moves (the ratio is 1 but for rounding, and AdamW
  // turns a rounding-sized gradient into steps of about lr).
  s.ptx = {};
  auto off = run("off", -1, false);
  EXPECT_NEAR(train::shard_loss(off, val, 2, 64, 4), before, 0.05);
  EXPECT_FALSE(metrics(dir / "off").front().contains("ptx_loss"));
}

namespace {

// The mean over the tokens of B x T windows of KL(teacher || m) at each position, in double
// from the two models' logits (or, without a teacher, the mean next-token loss of m).
double mean_window_loss(model::Transformer<float>& m, model::Transformer<float>* teacher, const train::Batch& w) {
  const int V = m.config().vocab_size, N = w.B * w.T;
  std::vector<float> t;
  if (teacher) teacher->forward(w.x.data(), w.B, w.T), t.assign(teacher->logits(), teacher->logits() + size_t(N) * V);
  m.forward(w.x.data(), w.B, w.T);
  auto log_softmax = [V](const float* z, std::vector<double>& out) {
    double mx = *std::max_element(z, z + V), sum = 0;
    for (int v = 0; v < V; ++v) sum += std::exp(double(z[v]) - mx);
    out.resize(size_t(V));
    for (int v = 0; v < V; ++v) out[size_t(v)] = double(z[v]) - mx - std::log(sum);
  };
  std::vector<double> lq, lp;
  double total = 0;
  for (int n = 0; n < N; ++n) {
    log_softmax(m.logits() + size_t(n) * V, lq);
    if (!teacher) {
      total -= lq[size_t(w.y[size_t(n)])];
      continue;
    }
    log_softmax(t.data() + size_t(n) * V, lp);
    for (int v = 0; v < V; ++v) total += std::exp(lp[size_t(v)]) * (lp[size_t(v)] - lq[size_t(v)]);
  }
  return total / N;
}

// The mean KL(teacher || m) over the first `batches` batches of 2 x 64 windows of the val shards.
double val_kl(model::Transformer<float>& teacher, model::Transformer<float>& m, int batches) {
  data::OpenShards val(data::list_shards(shard_dir(), "val"));
  data::SamplerOptions so;
  so.context = 64, so.batch = 2, so.shuffle = false;
  train::ShardBatches windows(val, so);
  double sum = 0;
  train::Batch b;
  for (int i = 0; i < batches; ++i) windows.next(b), sum += mean_window_loss(m, &teacher, b);
  return sum / batches;
}

}  // namespace

// The mix's term in the gradient is coef x share x the gradient of the windows' mean loss,
// for both losses: checked by central differences on the weights with the largest
// gradients (the loss in double from the float model's logits).
TEST(Grpo, PretrainMixGradientIsCoefTimesShareTimesTheMeanLoss) {
  for (const std::string loss : {"next-token", "kl"}) {
    SCOPED_TRACE(loss);
    PretrainMixSettings s;
    s.data = shard_dir(), s.coef = 0.7, s.batch = 2, s.context = 12, s.loss = loss;
    auto teacher = random_model(), m = random_model();
    m.init_weights(8);  // another model, so that the KL and its gradient are not 0
    PretrainMix mix(s, m.config(), tok(), 1, 3);
    train::Batch w;
    mix.draw(w);
    const double share = 0.5, scale = s.coef * share;
    m.zero_grad();
    const double reported = mix.forward_backward(m, w, share, Reference(teacher));
    EXPECT_NEAR(reported, mean_window_loss(m, loss == "kl" ? &teacher : nullptr, w), 1e-4);
    std::vector<float> g(m.grads(), m.grads() + m.num_params());
    std::vector<int64_t> idx(size_t(m.num_params()));
    for (int64_t i = 0; i < m.num_params(); ++i) idx[size_t(i)] = i;
    std::partial_sort(idx.begin(), idx.begin() + 6, idx.end(),
                      [&](int64_t a, int64_t b) { return std::abs(g[size_t(a)]) > std::abs(g[size_t(b)]); });
    for (int k = 0; k < 6; ++k) {
      float& p = m.params()[idx[size_t(k)]];
      const float keep = p, eps = 1e-2f;
      p = keep + eps;
      const double up = mean_window_loss(m, loss == "kl" ? &teacher : nullptr, w);
      p = keep - eps;
      const double down = mean_window_loss(m, loss == "kl" ? &teacher : nullptr, w);
      p = keep;
      const double fd = scale * (up - down) / (2.0 * double(eps));
      EXPECT_NEAR(g[size_t(idx[size_t(k)])], fd, 0.03 * std::abs(fd) + 1e-5) << "weight " << idx[size_t(k)];
    }
  }
}

// --ptx-loss kl: the windows keep the reference's distribution. Step 1's term is exactly 0
// (the policy is the reference); trained for the toy's target token, the policy moves far
// less from the reference on the held-out shards with the mix than without it (its templated
// answers are free to change: it still learns the target); a run stopped mid-way resumes bit for bit, and not with the other loss.
TEST(Grpo, PretrainMixKlKeepsTheReferencesDistribution) {
  test::TempDir dir;
  const uint32_t target = tok().encode(" the").at(0);
  auto recs = requests();
  auto ref = random_model();
  GrpoSettings s = toy_settings();
  auto run = [&](const std::string& name, const GrpoSettings& gs, int64_t stop_after, bool resume) {
    auto lo = loop(dir, name, 40, 2e-2);
    lo.stop_after = stop_after;
    if (resume) lo.resume = lo.out_dir;
    auto policy = random_model();
    grpo_train(policy, ref, tok(), recs, target_reward(target), gs, lo);
    return policy;
  };
  auto off = run("off", s, -1, false);
  s.ptx.data = shard_dir(), s.ptx.coef = 1.0, s.ptx.batch = 2, s.ptx.context = 64, s.ptx.loss = "kl";
  auto kept = run("kept", s, -1, false);
  const double drift_off = val_kl(ref, off, 4), drift_kept = val_kl(ref, kept, 4);
  // Measured: 12.6 nats a token without the mix, 0.05 with it.
  EXPECT_LT(drift_kept, 0.05 * drift_off) << "KL(reference || policy) on the val shards, without the mix " << drift_off;
  auto rows = metrics(dir / "kept");
  ASSERT_EQ(rows.size(), 40u);
  EXPECT_EQ(rows.front()["ptx_loss"].get<double>(), 0.0);
  EXPECT_GT(rows.back()["ptx_loss"].get<double>(), 0.0);
  double last = 0;
  for (size_t i = rows.size() - 10; i < rows.size(); ++i) last += rows[i]["reward"].get<double>() / 10;
  EXPECT_GT(last, 0.5) << "the target is still learned";

  run("resumed", s, 17, false);
  auto resumed = run("resumed", s, -1, true);
  ASSERT_EQ(std::memcmp(kept.params(), resumed.params(), size_t(kept.num_params()) * sizeof(float)), 0);
  run("switched", s, 5, false);
  s.ptx.loss = "next-token";
  try {
    run("switched", s, -1, true);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("--ptx-loss"), std::string::npos) << e.message();
  }
  // Nor with a teacher folder instead of the reference (the same weights, but named).
  const std::string teacher = dir / "teacher";
  std::filesystem::create_directories(teacher);
  model::save_model_files(teacher, ref);
  std::filesystem::copy_file(shard_dir() + "/tokenizer.json", teacher + "/tokenizer.json");
  s.ptx.loss = "kl", s.ptx.teacher = teacher;
  try {
    run("switched", s, -1, true);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("--ptx-teacher"), std::string::npos) << e.message();
  }
}

// The mix's shards must be the model's tokens: a folder packed with another tokenizer is
// refused by name before any step.
TEST(Grpo, PretrainMixRefusesShardsOfAnotherTokenizer) {
  test::TempDir dir, other;
  const std::string foreign = test::make_story_shards(other, 200, 280);
  auto recs = requests();
  GrpoSettings s = toy_settings();
  s.ptx.data = foreign;
  auto policy = random_model(), ref = random_model();
  try {
    grpo_train(policy, ref, tok(), recs, target_reward(0), s, loop(dir, "foreign", 2));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("another tokenizer"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find(foreign), std::string::npos) << e.message();
  }
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(dir / "foreign") / "model"));
}

// --story-share: plain story beginnings join the requests as that share of the whole, from
// their own generator seed (none of the evaluation's beginnings), and the story rules
// score their continuations: the story's length range, no words, features or answer.
TEST(Grpo, StoryBeginningsJoinTheRequestsAsTheirShare) {
  auto recs = requests();  // 4
  for (int i = 0; i < 26; ++i) recs.push_back(recs[size_t(i % 4)]);
  add_story_beginnings(recs, 0.25, 777);
  ASSERT_EQ(recs.size(), 40u);  // 30 requests, 10 beginnings: a quarter
  std::set<std::string> eval_beginnings, mine;
  for (uint64_t seed : {eval::kBeforeAfterStorySeed, eval::eval_story_seed(1)})
    for (const auto& p : eval::builtin_story_prompts(256, seed, false)) eval_beginnings.insert(p.beginning);
  for (size_t i = 30; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].task, kStoryBeginningTask);
    EXPECT_FALSE(recs[i].instruction.empty());
    EXPECT_EQ(eval_beginnings.count(recs[i].instruction), 0u) << recs[i].instruction;
    EXPECT_TRUE(mine.insert(recs[i].instruction).second) << "twice: " << recs[i].instruction;
  }
  // Many more than the generator has openings for: still distinct and none of the evaluations'.
  std::vector<stories::InstructRecord> many(300, recs[0]);
  add_story_beginnings(many, 0.5, 777);
  ASSERT_EQ(many.size(), 600u);
  std::set<std::string> distinct;
  for (size_t i = 300; i < many.size(); ++i) {
    distinct.insert(many[i].instruction);
    EXPECT_EQ(eval_beginnings.count(many[i].instruction), 0u) << many[i].instruction;
  }
  EXPECT_EQ(distinct.size(), 300u);
  RewardModel model{RewardConfig{}};
  const std::string story =
      "Tom went to the park with his dog. They played with a red ball all day. When the sun went down, "
      "Tom and his dog walked home. Mom gave them a warm supper, and Tom said thank you. After supper, Tom read "
      "a book about a big bear with his mom. Then he went to bed. He was happy.";
  Reward long_enough = model.score(recs.back(), story, true), cut = model.score(recs.back(), "Tom ran to the park.", true);
  EXPECT_FALSE(long_enough.rules.count("words") || long_enough.rules.count("features") || long_enough.rules.count("answer"));
  EXPECT_EQ(long_enough.rules.at("length"), 1.0);  // 50 words or more: a story's range
  EXPECT_LT(cut.rules.at("length"), 1.0);          // 5 words would be enough for a summary, not a story
  EXPECT_GT(long_enough.total, 0.8);
  auto none = requests();
  add_story_beginnings(none, 0, 777);
  EXPECT_EQ(none.size(), 4u);
  EXPECT_THROW(add_story_beginnings(none, 1.0, 777), Error);
}
