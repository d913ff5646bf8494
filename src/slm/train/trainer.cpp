#include "slm/train/trainer.h"

#include <omp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/data/pack.h"
#include "slm/data/sampler.h"
#include "slm/model/transformer.h"
#include "slm/tensor/gemm.h"
#include "slm/train/adamw.h"
#include "slm/train/checkpoint.h"
#include "slm/train/loss_plot.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) { g_signal = sig; }

// Installs SIGINT/SIGTERM handlers for the life of a run, then restores the old ones.
struct SignalGuard {
  struct sigaction old_int {}, old_term {};
  SignalGuard() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

std::string resolve_resume(const std::string& path) {
  if (fs::exists(fs::path(path) / "trainer_state.json")) return path;
  auto cps = list_checkpoints(path);
  if (cps.empty()) throw Error("no checkpoint here (expected trainer_state.json or checkpoints/step_*)", path);
  return cps.back();
}

// Keeps only the metrics of steps up to `step` (after a resume, later lines are redone).
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      if (json::parse(line).value("step", int64_t(0)) <= step) kept += line + "\n";
    } catch (const json::exception&) {
    }
  }
  write_file_atomic(path, kept);
}

double evaluate(model::Transformer<float>& m, const data::OpenShards& val, int B, int T, int64_t batches) {
  data::SamplerOptions so;
  so.context = T;
  so.batch = B;
  so.shuffle = false;
  data::BatchSampler s(val.ptrs, so);
  int64_t n = std::min<int64_t>(batches, int64_t(s.batches_per_epoch()));
  std::vector<int32_t> x(size_t(B) * T), y(size_t(B) * T);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    s.next(x.data(), y.data());
    total += m.loss(x.data(), y.data(), B, T);
  }
  return total / double(n);
}

}  // namespace

double measure_peak_flops() {
  const int n = 1024;
  std::vector<float> a(size_t(n) * n, 1.f), b(size_t(n) * n, 1.f), c(size_t(n) * n);
  double best = 0;
  for (int r = 0; r < 4; ++r) {
    auto t0 = Clock::now();
    tensor::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / s);
  }
  return best;
}

void allreduce_gradients(float*, int64_t) {}

PretrainResult pretrain(const PretrainOptions& opt) {
  omp_set_num_threads(std::max(1, opt.threads));
  TrainConfig tc = opt.train;
  tc.validate("train config");
  model::ModelConfig mc = opt.model;

  // Data: shards, and the tokenizer that made them.
  auto train_paths = data::list_shards(opt.data_dir, "train");
  if (train_paths.empty()) throw Error("no train_*.bin shards (make them with slm data pack)", opt.data_dir);
  data::OpenShards train_shards(train_paths), val_shards(data::list_shards(opt.data_dir, "val"));
  std::string tokenizer_json = (fs::path(opt.data_dir) / "tokenizer.json").string();
  if (!fs::exists(tokenizer_json)) tokenizer_json.clear();
  int data_vocab = 0;
  if (fs::exists(fs::path(opt.data_dir) / "meta.json"))
    data_vocab = json::parse(read_file((fs::path(opt.data_dir) / "meta.json").string())).value("vocab_size", 0);
  if (mc.vocab_size == 0) mc.vocab_size = data_vocab;
  if (mc.vocab_size == 0) throw Error("model.vocab_size is 0 and the data has no meta.json to take it from", opt.data_dir);
  mc.validate("model config");
  uint32_t max_tok = std::max(train_shards.max_token(), val_shards.max_token());
  if (int64_t(max_tok) >= mc.vocab_size)
    throw Error(fmt::format("the shards hold token {} but model.vocab_size is {}: the shards' vocabulary exceeds the model's",
                            max_tok, mc.vocab_size),
                opt.data_dir);
  const int B = tc.batch_size, T = mc.context;

  data::SamplerOptions so;
  so.context = T;
  so.batch = B;
  so.seed = tc.seed;
  data::BatchSampler sampler(train_shards.ptrs, so);  // throws if the shards are shorter than the context

  model::Transformer<float> m(mc);
  m.init_weights(tc.seed);
  AdamW adam(m.layout(), tc.beta1, tc.beta2, tc.eps, tc.weight_decay, tc.decay_embeddings);
  TrainerState st;
  PretrainResult res;
  fs::create_directories(fs::path(opt.out_dir) / "checkpoints");
  const std::string metrics_path = (fs::path(opt.out_dir) / "metrics.jsonl").string();
  if (!opt.resume.empty()) {
    std::string cp = resolve_resume(opt.resume);
    st = load_checkpoint(cp, m, adam);
    sampler.restore(st.sampler);
    truncate_metrics(metrics_path, st.step);
    if (!opt.quiet) fmt::print(stderr, "resumed from {} at step {}\n", cp, st.step);
  } else {
    write_file_atomic(metrics_path, "");
  }
  res.start_step = st.step;
  write_file_atomic((fs::path(opt.out_dir) / "run.json").string(),
                    json{{"model", mc.to_json()}, {"train", tc.to_json()}, {"data", opt.data_dir}}.dump(2) + "\n");

  // What a person sees first: the size of the model and of its memory.
  const double peak = measure_peak_flops();
  const double flops_tok = model::flops_per_token(mc);
  const int64_t P = m.num_params();
  const int64_t act = model::Transformer<float>::activation_bytes(mc, B, T);
  if (!opt.quiet) {
    fmt::print(stderr, "model: {:.2f}M parameters (dim {}, {} layers, {} heads, {} kv heads, hidden {}, context {}, vocab {})\n",
               double(P) / 1e6, mc.dim, mc.n_layers, mc.n_heads, mc.n_kv_heads, mc.hidden_dim, mc.context, mc.vocab_size);
    fmt::print(stderr, "memory: parameters {} + gradients {} + AdamW state {} + activations {} = {}\n",
               human_bytes(4.0 * P), human_bytes(4.0 * P), human_bytes(8.0 * P), human_bytes(double(act)),
               human_bytes(16.0 * P + double(act)));
    fmt::print(stderr, "data: {} train windows of {} tokens, {} val shard(s); {} threads; BLAS kernel {}, peak {:.0f} GFLOP/s\n",
               sampler.windows(), T, val_shards.owned.size(), opt.threads, tensor::blas_core_name(), peak / 1e9);
  }

  std::vector<CurvePoint> train_curve, val_curve;
  {  // the curve so far, when resuming
    std::ifstream in(metrics_path);
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (j.is_discarded()) continue;
      if (j.contains("loss")) train_curve.push_back({j["step"].get<double>(), j["loss"].get<double>()});
      if (j.contains("val_loss")) val_curve.push_back({j["step"].get<double>(), j["val_loss"].get<double>()});
    }
  }
  std::ofstream metrics(metrics_path, std::ios::app);
  std::vector<int32_t> x(size_t(B) * T), y(size_t(B) * T);
  const double grad_scale = 1.0 / (double(B) * T * tc.grad_accum);
  std::string last_checkpoint;
  auto checkpoint = [&](int64_t step) {
    st.step = step;
    st.sampler = sampler.state();
    std::string dir = (fs::path(opt.out_dir) / "checkpoints" / fmt::format("step_{:08d}", step)).string();
    save_checkpoint(dir, m, adam, tc, st, tokenizer_json, opt.data_dir);
    last_checkpoint = dir;
    auto all = list_checkpoints(opt.out_dir);
    for (size_t i = 0; i + size_t(tc.keep_checkpoints) < all.size(); ++i) fs::remove_all(all[i]);
  };
  auto plot = [&] {
    write_loss_svg((fs::path(opt.out_dir) / "loss.svg").string(), train_curve, val_curve,
                   fmt::format("{:.1f}M-parameter model: loss", double(P) / 1e6));
  };

  SignalGuard signals;
  Progress bar("train", double(tc.max_steps), "steps", opt.quiet);
  auto t_start = Clock::now();
  int64_t tokens_done = 0;
  int64_t step = st.step;
  for (; step < tc.max_steps; ++step) {
    auto t0 = Clock::now();
    const double lr = learning_rate(tc, step);
    m.zero_grad();
    double loss = 0;
    for (int micro = 0; micro < tc.grad_accum; ++micro) {
      sampler.next(x.data(), y.data());
      loss += m.forward_backward(x.data(), y.data(), B, T, grad_scale) / tc.grad_accum;
    }
    allreduce_gradients(m.grads(), P);
    const double norm = clip_grad_norm(m.grads(), P, tc.grad_clip);
    if (!std::isfinite(loss) || !std::isfinite(norm))
      throw Error(fmt::format("the loss became {} at step {}; nothing was saved over the last good checkpoint ({})",
                              std::isfinite(loss) ? "finite but the gradient norm is not" : fmt::format("{}", loss),
                              step + 1, last_checkpoint.empty() ? "none yet" : last_checkpoint),
                  "training");
    adam.step(m.params(), m.grads(), lr, step + 1);
    res.losses.push_back(loss);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    tokens_done += int64_t(B) * T * tc.grad_accum;
    const double tok_s = double(B) * T * tc.grad_accum / secs;
    const double mfu = tok_s * flops_tok / peak;
    json row = {{"step", step + 1}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm}, {"tokens_per_s", tok_s}, {"mfu", mfu}};
    train_curve.push_back({double(step + 1), loss});
    const bool last = step + 1 == tc.max_steps;
    if ((tc.eval_every && (step + 1) % tc.eval_every == 0) || last) {
      if (!val_shards.owned.empty()) {
        st.last_val_loss = evaluate(m, val_shards, B, T, tc.eval_batches);
        row["val_loss"] = st.last_val_loss;
        val_curve.push_back({double(step + 1), st.last_val_loss});
      }
      plot();
    }
    if ((step + 1) % tc.log_every == 0 || last) metrics << row.dump() << "\n" << std::flush;
    bar.update(double(step + 1), fmt::format("loss {:.4f}{} | lr {:.2e} | {:.0f} tok/s | MFU {:.1f}%", loss,
                                             st.last_val_loss >= 0 ? fmt::format(" val {:.4f}", st.last_val_loss) : "",
                                             lr, tok_s, 100 * mfu));
    if (tc.checkpoint_every && (step + 1) % tc.checkpoint_every == 0 && !last) checkpoint(step + 1);
    const bool stop = g_signal != 0 || (opt.stop_after >= 0 && step + 1 - res.start_step >= opt.stop_after);
    if (stop && !last) {
      ++step;
      checkpoint(step);
      plot();
      bar.finish();
      res.interrupted = true;
      res.steps = step;
      res.checkpoint = last_checkpoint;
      // Said even when quiet: where the work went is never noise.
      fmt::print(stderr, "stopped at step {}{}; checkpoint saved: {}\nresume with: --resume {}\n", step,
                   g_signal ? " (signal)" : "", last_checkpoint, opt.out_dir);
      return res;
    }
  }
  bar.finish();
  checkpoint(step);
  plot();
  // The final model folder for the next stages: weights, config and tokenizer only.
  // Assembled beside it and renamed into place, like a checkpoint.
  const std::string final_dir = (fs::path(opt.out_dir) / "model").string();
  const std::string tmp_dir = final_dir + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp_dir);
  fs::create_directories(tmp_dir);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
    if (fs::exists(fs::path(last_checkpoint) / f)) fs::copy_file(fs::path(last_checkpoint) / f, fs::path(tmp_dir) / f);
  fs::remove_all(final_dir);
  fs::rename(tmp_dir, final_dir);
  res.steps = step;
  res.val_loss = st.last_val_loss;
  res.model_dir = final_dir;
  res.checkpoint = last_checkpoint;
  double total_s = std::chrono::duration<double>(Clock::now() - t_start).count();
  if (!opt.quiet)
    fmt::print(stderr, "done: {} steps, {} tokens in {}, {:.0f} tokens/s; final train loss {:.4f}, val loss {:.4f}\n",
               step, tokens_done, human_duration(total_s), double(tokens_done) / total_s,
               res.losses.empty() ? 0.0 : res.losses.back(), res.val_loss);
  return res;
}

}  // namespace slm::train
