// LoRA: the adapters' gradients against finite differences (double), the base exactly at
// initialisation, merging (in memory, from files, by slm lora merge), fine-tuning that
// learns with the base frozen, bit-exact resume, and errors that say what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "slm/model/model_files.h"
#include "slm/model/safetensors.h"
#include "slm/tensor/gemm.h"
#include "slm/train/lora.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"
#include "test_util.h"
#include "train/finetune_fixture.h"

using namespace slm;
using namespace slm::train;
using nlohmann::json;

namespace {

model::ModelConfig tiny_config() {
  model::ModelConfig c;
  c.vocab_size = 11, c.dim = 8, c.n_layers = 2, c.n_heads = 2, c.n_kv_heads = 1, c.hidden_dim = 12, c.context = 6;
  return c;
}

LoraConfig all_targets(int rank, double alpha) {
  LoraConfig c;
  c.rank = rank;
  c.alpha = alpha;
  c.targets = parse_lora_targets("all", "test");
  return c;
}

// Random values in every adapter (B too), so that every product of the LoRA path carries signal.
template <class T>
void randomize(LoraAdapters<T>& lora, uint64_t seed) {
  Rng rng(seed);
  for (int64_t i = 0; i < lora.size(); ++i) lora.params()[i] = T(0.5 * (2 * rng.uniform() - 1));
}

// dropout > 0: in training mode with one key, so every forward (the analytic one and
// each finite difference) draws the same masks: the gradient of one fixed-mask function.
void check_lora_gradients(bool masked, double dropout = 0) {
  model::Transformer<double> m(tiny_config());
  m.init_weights(5);
  for (int64_t i = 0; i < m.num_params(); ++i) m.params()[i] *= 20.0;
  LoraConfig cfg = all_targets(2, 3.0);
  cfg.dropout = dropout;
  LoraAdapters<double> lora(m.layout(), cfg);
  randomize(lora, 7);
  lora.attach(m);
  if (dropout > 0) lora.set_training(true, 12345);
  std::vector<int32_t> in = {1, 4, 7, 2, 9, 3, 3, 10, 0, 5}, tgt = {4, 7, 2, 9, 6, 3, 10, 0, 5, 8};
  if (masked) tgt = {-1, -1, 2, -1, 6, -1, 10, -1, -1, 8};
  int counted = 0;
  for (int32_t t : tgt) counted += t >= 0;
  lora.zero_grad();
  m.forward_backward(in.data(), tgt.data(), 2, 5, 1.0 / counted);
  const std::vector<double> analytic(lora.grads(), lora.grads() + lora.size());
  // Central differences of the model's loss with the adapters merged in (h = 1e-6: at 1e-5
  // the h² error of the difference, with these large weights, is ~1e-5 of the value).
  const double h = 1e-6;
  for (int64_t i = 0; i < lora.size(); ++i) {
    const double keep = lora.params()[i];
    lora.params()[i] = keep + h;
    lora.merge();
    const double up = m.loss(in.data(), tgt.data(), 2, 5);
    lora.params()[i] = keep - h;
    lora.merge();
    const double down = m.loss(in.data(), tgt.data(), 2, 5);
    lora.params()[i] = keep;
    const double numeric = (up - down) / (2 * h);
    const double err = std::abs(numeric - analytic[size_t(i)]) / std::max(1e-2, std::abs(numeric));
    ASSERT_LT(err, 1e-6) << "adapter value " << i << ": LoRA " << analytic[size_t(i)] << ", finite differences "
                         << numeric;
  }
}

std::vector<float> logits_of(model::Transformer<float>& m, const std::vector<int32_t>& in) {
  m.forward(in.data(), 1, int(in.size()));
  return {m.logits(), m.logits() + in.size() * size_t(m.config().vocab_size)};
}

FinetuneOptions lora_options(const test::TempDir& dir, const std::string& out, int64_t steps) {
  auto o = test::finetune_options(dir, out, steps);
  o.base = test::lora_base();
  o.lora = all_targets(4, 8.0);
  o.train.lr = 1e-2;
  return o;
}

}  // namespace

TEST(Lora, AdapterGradientsMatchFiniteDifferences) { check_lora_gradients(false); }
TEST(Lora, AdapterGradientsMatchFiniteDifferencesWithMaskedTargets) { check_lora_gradients(true); }
// Every adapter of both layers: layer 0's gradients come through the input gradients of
// layer 1's dropped-out adapters, so this checks dx's correction as well as dA and dB.
TEST(Lora, AdapterGradientsWithDropoutMatchFiniteDifferences) { check_lora_gradients(false, 0.3); }
TEST(Lora, AdapterGradientsWithDropoutAndMaskedTargetsMatchFiniteDifferences) { check_lora_gradients(true, 0.5); }

// y = x·W0ᵀ + s·(d(x)·Aᵀ)·Bᵀ computed by hand from the layer's input and the mask the
// share of zeros in d(x) shows; out of training the layer is the merged one exactly.
TEST(Lora, DropoutActsOnTheAdapterInputInTrainingOnly) {
  model::Transformer<double> m(tiny_config());
  m.init_weights(2);
  LoraConfig cfg = all_targets(3, 5.0);
  cfg.dropout = 0.25;
  LoraAdapters<double> lora(m.layout(), cfg);
  randomize(lora, 4);
  const int wq = m.layout().layers[1].wq;
  const std::vector<double> w0(m.param(wq), m.param(wq) + m.layout().tensors[size_t(wq)].size);
  lora.attach(m);
  const auto& t = lora.targets()[size_t(1 * 7)];  // layer 1, q_proj
  const int N = 400, in = t.in, out = t.out, r = 3;
  const double s = 5.0 / 3, keep = 1 / 0.75;
  std::vector<double> x(size_t(N) * in), y(size_t(N) * out), merged(size_t(N) * out);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 1.5 + std::sin(double(i));  // never 0
  auto layer = [&](std::vector<double>& dst) {
    for (int n = 0; n < N; ++n)
      for (int o = 0; o < out; ++o) {
        double v = 0;
        for (int i = 0; i < in; ++i) v += x[size_t(n * in + i)] * m.param(wq)[o * in + i];
        dst[size_t(n * out + o)] = v;
      }
    m.on_linear_forward(wq, x.data(), dst.data(), N);
  };
  layer(merged);  // not training: the hook adds nothing
  lora.set_training(true, 77);
  layer(y);
  EXPECT_NE(y, merged) << "training: the adapter sees a dropped-out input";
  std::vector<double> again(size_t(N) * out), other(size_t(N) * out);
  layer(again);
  EXPECT_EQ(y, again) << "the same key draws the same masks";
  lora.set_training(true, 78);
  layer(other);
  EXPECT_NE(y, other) << "another key draws other masks";
  // The mask, read out of the backward hook: with dy = 1 on output 0 of every row and
  // B = e_0 e_0ᵀ, dx's correction s·((dy·B)·A) ⊙ (m/(1-p) - 1) is s·A[0][i]·(m/(1-p) - 1)
  // for each element, and dA's row 0 = s·Σ_n d(x)_n.
  lora.set_training(true, 77);
  layer(y);
  std::vector<double> dy(size_t(N) * out, 0.0), dx(size_t(N) * in, 0.0);
  for (int n = 0; n < N; ++n) dy[size_t(n * out)] = 1;
  std::vector<double> keepB(lora.params() + t.b, lora.params() + t.b + int64_t(out) * r);
  std::fill(lora.params() + t.b, lora.params() + t.b + int64_t(out) * r, 0.0);
  lora.params()[t.b] = 1;  // B[0][0]
  lora.zero_grad();
  m.on_linear_backward(wq, x.data(), dy.data(), dx.data(), N);
  int64_t dropped = 0;
  std::vector<double> dxin(size_t(N) * in);  // d(x) by the mask read out
  for (int n = 0; n < N; ++n)
    for (int i = 0; i < in; ++i) {
      const double a = lora.params()[t.a + i];
      const double f = dx[size_t(n * in + i)] / (s * a);  // m/(1-p) - 1: 1/3 kept, -1 dropped
      const bool kept = std::abs(f - (keep - 1)) < 1e-9;
      ASSERT_TRUE(kept || std::abs(f + 1) < 1e-9) << f;
      dropped += !kept;
      dxin[size_t(n * in + i)] = kept ? x[size_t(n * in + i)] * keep : 0.0;  // d(x)
    }
  const double share = double(dropped) / double(N * in);
  EXPECT_NEAR(share, 0.25, 0.03) << "the share of the adapter's inputs dropped";
  for (int i = 0; i < in; ++i) {
    double col = 0;
    for (int n = 0; n < N; ++n) col += dxin[size_t(n * in + i)];
    EXPECT_NEAR(lora.grads()[t.a + i], s * col, 1e-9 * std::abs(s * col) + 1e-9);
  }
  // The forward with the recovered mask: y = x·W0ᵀ + s·(d(x)·Aᵀ)·Bᵀ.
  std::copy(keepB.begin(), keepB.end(), lora.params() + t.b);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) {
      double base = 0, low = 0;
      for (int i = 0; i < in; ++i) base += x[size_t(n * in + i)] * w0[size_t(o * in + i)];
      for (int k = 0; k < r; ++k) {
        double xa = 0;
        for (int i = 0; i < in; ++i) xa += dxin[size_t(n * in + i)] * lora.params()[t.a + k * in + i];
        low += xa * lora.params()[t.b + o * r + k];
      }
      ASSERT_NEAR(y[size_t(n * out + o)], base + s * low, 1e-9) << n << "," << o;
    }
}

// p = 0 is today's LoRA exactly: the same logits and adapter gradients, bit for bit, in
// training and out of it, as a LoRA with dropout out of training.
TEST(Lora, ZeroDropoutIsExactlyLoraWithoutDropout) {
  auto run = [](double p, bool training) {
    model::Transformer<float> m(tiny_config());
    m.init_weights(3);
    LoraConfig cfg = all_targets(2, 4.0);
    cfg.dropout = p;
    LoraAdapters<float> lora(m.layout(), cfg);
    lora.init(5);
    for (int64_t i = 0; i < lora.size(); ++i) lora.params()[i] += 0.01f * float(i % 7);  // B != 0
    lora.attach(m);
    lora.set_training(training, 99);
    std::vector<int32_t> in = {1, 4, 7, 2, 9, 3}, tgt = {4, 7, 2, 9, 6, 3};
    lora.zero_grad();
    const double loss = m.forward_backward(in.data(), tgt.data(), 1, 6, 1.0 / 6);
    std::vector<float> out(m.logits(), m.logits() + 6 * 11);
    out.push_back(float(loss));
    out.insert(out.end(), lora.grads(), lora.grads() + lora.size());
    return out;
  };
  const auto today = run(0.0, false);
  EXPECT_EQ(run(0.0, true), today);
  EXPECT_EQ(run(0.4, false), today);
  EXPECT_NE(run(0.4, true), today);
}

TEST(Lora, OnlyTheAdaptersGetGradients) {
  model::Transformer<double> m(tiny_config());
  m.init_weights(5);
  LoraAdapters<double> lora(m.layout(), all_targets(2, 4.0));
  lora.init(3);
  lora.attach(m);
  for (size_t i = 0; i < m.layout().tensors.size(); ++i) EXPECT_TRUE(m.frozen(int(i)));
  std::vector<int32_t> in = {1, 2, 3, 4, 5}, tgt = {2, 3, 4, 5, 6};
  m.forward_backward(in.data(), tgt.data(), 1, 5, 0.2);
  // B = 0: dA = s·(dy·B)ᵀ·x is zero, and dB is not.
  double a_norm = 0, b_norm = 0;
  for (const auto& t : lora.tensors())
    for (int64_t i = 0; i < t.size; ++i)
      (t.name.find("lora_A") != std::string::npos ? a_norm : b_norm) += std::abs(lora.grads()[t.offset + i]);
  EXPECT_EQ(a_norm, 0.0);
  EXPECT_GT(b_norm, 0.0);
}

TEST(Lora, AtInitialisationTheModelIsExactlyTheBase) {
  model::Transformer<float> base(tiny_config()), m(tiny_config());
  base.init_weights(9);
  m.init_weights(9);
  LoraTrainable lora(m, all_targets(4, 8.0), 1);
  std::vector<int32_t> in = {3, 1, 4, 1, 5, 9};
  EXPECT_EQ(logits_of(base, in), logits_of(m, in));
}

TEST(Lora, TheMergedWeightIsTheUnmergedLayer) {
  // x·(W0 + s·B·A)ᵀ = x·W0ᵀ + s·(x·Aᵀ)·Bᵀ, computed both ways for one layer.
  model::Transformer<double> m(tiny_config());
  m.init_weights(2);
  const int wq = m.layout().layers[1].wq;
  const std::vector<double> w0(m.param(wq), m.param(wq) + m.layout().tensors[size_t(wq)].size);
  LoraAdapters<double> lora(m.layout(), all_targets(3, 5.0));
  randomize(lora, 4);
  lora.attach(m);
  const auto& t = lora.targets()[size_t(1 * 7)];  // layer 1, q_proj
  ASSERT_EQ(t.tensor, wq);
  const int N = 4, in = t.in, out = t.out, r = 3;
  const double s = 5.0 / 3;
  std::vector<double> x(size_t(N) * in);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(double(i));
  std::vector<double> merged(size_t(N) * out, 0), unmerged(size_t(N) * out, 0);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < out; ++o) {
      double y = 0, base = 0;
      for (int i = 0; i < in; ++i) y += x[size_t(n * in + i)] * m.param(wq)[o * in + i];
      for (int i = 0; i < in; ++i) base += x[size_t(n * in + i)] * w0[size_t(o * in + i)];
      double low = 0;
      for (int k = 0; k < r; ++k) {
        double xa = 0;
        for (int i = 0; i < in; ++i) xa += x[size_t(n * in + i)] * lora.params()[t.a + k * in + i];
        low += xa * lora.params()[t.b + o * r + k];
      }
      EXPECT_NEAR(y, base + s * low, 1e-12);
    }
}

TEST(Lora, TargetsAndConfigErrorsSayWhatIsExpected) {
  EXPECT_EQ(parse_lora_targets("v,q", "x"), (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(parse_lora_targets("gate_proj, down", "x"), (std::vector<std::string>{"gate_proj", "down_proj"}));
  EXPECT_EQ(parse_lora_targets("all", "x").size(), 7u);
  try {
    parse_lora_targets("q,lm_head", "--lora-targets");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown LoRA target 'lm_head'"), std::string::npos) << e.message();
    EXPECT_NE(std::string(e.what()).find("q, k, v, o, gate, up, down"), std::string::npos) << e.message();
  }
  EXPECT_THROW(parse_lora_targets("q,,v", "x"), Error);
  LoraConfig c;
  c.rank = 0;
  EXPECT_THROW(c.validate("lora"), Error);
  c.rank = 4, c.alpha = -1;
  EXPECT_THROW(c.validate("lora"), Error);
}

// PEFT settings that change what the adapter computes are refused by name, not ignored;
// the file slm writes reads back as it was.
TEST(Lora, PeftSettingsSlmDoesNotComputeAreRefused) {
  LoraConfig c;
  c.rank = 4, c.alpha = 8, c.targets = {"q_proj", "v_proj"};
  const nlohmann::json good = c.to_peft_json();
  EXPECT_EQ(LoraConfig::from_peft_json(good, "a.json").rank, 4);
  auto refusal = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json j = good;
    j[key] = value;
    try {
      LoraConfig::from_peft_json(j, "a.json");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(refusal("fan_in_fan_out", true), "fan_in_fan_out is true: expected false (Llama's [out, in] weights)");
  EXPECT_EQ(refusal("bias", "lora_only"), "bias is \"lora_only\": expected \"none\" (slm's layers have no biases)");
  EXPECT_NE(refusal("modules_to_save", {"lm_head"}).find("modules_to_save is"), std::string::npos);
  EXPECT_NE(refusal("layers_to_transform", {0}).find("layers_to_transform is"), std::string::npos);
  EXPECT_EQ(refusal("r", "8"), "r is \"8\": expected an integer in [1, 65536]");
  EXPECT_EQ(refusal("r", int64_t(1) << 40), "r is 1099511627776: expected an integer in [1, 65536]");
  EXPECT_EQ(refusal("lora_alpha", nullptr), "lora_alpha is null: expected a number");
  EXPECT_EQ(refusal("lora_dropout", 1.0), "lora_dropout is 1.0: expected a probability in [0, 1)");
  EXPECT_EQ(refusal("lora_dropout", "0.1"), "lora_dropout is \"0.1\": expected a probability in [0, 1)");
  // lora_dropout is written and read back.
  c.dropout = 0.05;
  EXPECT_EQ(c.to_peft_json()["lora_dropout"], 0.05);
  EXPECT_EQ(LoraConfig::from_peft_json(c.to_peft_json(), "a.json").dropout, 0.05);
}

TEST(Lora, FineTuningLearnsWithTheBaseFrozenAndSavesAPeftAdapter) {
  test::TempDir dir;
  auto r = finetune(lora_options(dir, "lora", 30));
  ASSERT_EQ(r.losses.size(), 30u);
  // From about 10.5 to about 4.7 in this run.
  EXPECT_LT(r.losses.back(), 0.6 * r.losses.front());
  const std::string out = dir / "lora/model";
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "prompt_template.json"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  EXPECT_FALSE(std::filesystem::exists(out + "/model.safetensors"));
  json cfg = json::parse(test::slurp(out + "/adapter_config.json"));
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["task_type"], "CAUSAL_LM");
  EXPECT_EQ(cfg["r"], 4);
  EXPECT_EQ(cfg["lora_alpha"], 8.0);
  EXPECT_EQ(cfg["base_model_name_or_path"], test::lora_base());
  EXPECT_EQ(cfg["target_modules"].size(), 7u);
  auto tensors = model::read_safetensors(out + "/adapter_model.safetensors");
  auto base = model::load_model(test::lora_base());
  const auto& c = base->config();
  EXPECT_EQ(tensors.size(), size_t(c.n_layers) * 7 * 2);
  const auto& qa = tensors.at("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
  EXPECT_EQ(qa.shape, (std::vector<int64_t>{4, c.dim}));
  const auto& db = tensors.at("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
  EXPECT_EQ(db.shape, (std::vector<int64_t>{c.dim, 4}));
  EXPECT_TRUE(std::any_of(db.data.begin(), db.data.end(), [](float v) { return v != 0; })) << "B was trained";
  // Optimizer moments for the adapters only: the memory LoRA saves.
  auto moments = model::read_safetensors(dir / "lora/checkpoints/step_00000030/optimizer.safetensors");
  EXPECT_EQ(moments.size(), 2 * tensors.size());
  json run = json::parse(test::slurp(dir / "lora/run.json"));
  EXPECT_LT(run["memory_bytes"]["optimizer"].get<int64_t>(), 2 * 4 * base->num_params() / 5);
}

TEST(Lora, MergeFoldsTheAdapterIntoThePlainModel) {
  test::TempDir dir;
  auto r = finetune(lora_options(dir, "lora", 12));
  const std::string adapter = r.model_dir;
  const int n = merge_lora(test::lora_base(), adapter, dir / "merged");
  auto merged = model::load_model_and_tokenizer(dir / "merged");
  EXPECT_EQ(n, merged.model->config().n_layers * 7);
  EXPECT_TRUE(merged.alpaca_template);
  // Against base + (alpha/r)·B·A computed here from the adapter file, element by element.
  auto base = model::load_model(test::lora_base());
  auto ad = model::read_safetensors(adapter + "/adapter_model.safetensors");
  const auto& L = base->layout();
  const int wv = L.layers[0].wv;
  const auto& A = ad.at("base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight");
  const auto& B = ad.at("base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight");
  const int out = int(L.tensors[size_t(wv)].shape[0]), in = int(L.tensors[size_t(wv)].shape[1]);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) {
      double d = 0;
      for (int k = 0; k < 4; ++k) d += double(B.data[size_t(o * 4 + k)]) * A.data[size_t(k * in + i)];
      EXPECT_NEAR(merged.model->param(wv)[o * in + i], base->param(wv)[o * in + i] + 2.0 * d, 1e-6);
    }
  // Untargeted tensors are the base's, bit for bit; the merged model's logits are those
  // of the base with the adapter applied in memory.
  EXPECT_TRUE(std::equal(base->param(L.embed), base->param(L.embed) + L.tensors[size_t(L.embed)].size,
                         merged.model->param(L.embed)));
  apply_lora(*base, adapter);
  std::vector<int32_t> in_ids = {5, 17, 3, 99, 42};
  EXPECT_EQ(logits_of(*base, in_ids), logits_of(*merged.model, in_ids));
}

TEST(Lora, ResumeIsBitIdentical) {
  test::TempDir dir;
  test::expect_resume_bit_identical(dir, [&](const std::string& out) { return lora_options(dir, out, 10); });
  EXPECT_EQ(test::slurp(dir / "a/model/adapter_model.safetensors"), test::slurp(dir / "b/model/adapter_model.safetensors"));
}

TEST(Lora, AnAdapterThatDoesNotFitIsAClearError) {
  test::TempDir dir;
  auto r = finetune(lora_options(dir, "lora", 2));
  // Another rank than the run's: resuming names the file and both configs.
  auto other = lora_options(dir, "lora", 4);
  other.lora.rank = 2;
  other.resume = dir / "lora";
  try {
    finetune(other);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("adapter_config.json"), std::string::npos) << e.message();
    EXPECT_NE(std::string(e.what()).find("r=4"), std::string::npos) << e.message();
  }
  // A model of another shape: the tensor and both shapes are named.
  model::ModelConfig c = model::load_model(test::lora_base())->config();
  c.dim = 16, c.hidden_dim = 32;
  model::Transformer<float> wide(c);
  try {
    apply_lora(wide, r.model_dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(e.message().find("adapter_model.safetensors"), std::string::npos) << e.message();
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.message();
  }
  // Not an adapter folder at all.
  EXPECT_THROW(read_lora_config(test::base_model()), Error);
}
