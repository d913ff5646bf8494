#include "slm/train/loop.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "slm/tensor/gemm.h"
#include "slm/train/adamw.h"
#include "slm/train/train_checkpoint.h"
#include "slm/train/loss_plot.h"
#include "slm/util/atomic_dir.h"
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

TrainResult run_training(model::Transformer<float>& m, BatchSource& data, const LoopOptions& opt) {
  const TrainConfig& tc = opt.train;
  tc.validate("train config");
  const model::ModelConfig& mc = m.config();
  AdamW adam(m.layout(), tc.beta1, tc.beta2, tc.eps, tc.weight_decay, tc.decay_embeddings);
  TrainerState st;
  TrainResult res;
  fs::create_directories(fs::path(opt.out_dir) / "checkpoints");
  const std::string metrics_path = (fs::path(opt.out_dir) / "metrics.jsonl").string();
  if (!opt.resume.empty()) {
    std::string cp = resolve_resume(opt.resume);
    st = load_checkpoint(cp, m, adam);
    data.restore(st.data);
    truncate_metrics(metrics_path, st.step);
    if (!opt.quiet) fmt::print(stderr, "resumed from {} at step {}\n", cp, st.step);
  } else {
    write_file_atomic(metrics_path, "");
  }
  res.start_step = st.step;
  json run = opt.run_info.is_object() ? opt.run_info : json::object();
  run["model"] = mc.to_json();
  run["train"] = tc.to_json();
  run["data"] = opt.data_desc;
  write_file_atomic((fs::path(opt.out_dir) / "run.json").string(), run.dump(2) + "\n");

  const double peak = measure_peak_flops();
  const double flops_tok = model::flops_per_token(mc);
  const int64_t P = m.num_params();
  std::vector<CurvePoint> train_curve, val_curve;
  read_loss_curves(metrics_path, train_curve, val_curve);  // the curve so far, when resuming
  std::ofstream metrics(metrics_path, std::ios::app);

  std::string last_checkpoint;
  auto checkpoint = [&](int64_t step) {
    st.step = step;
    st.data = data.state();
    std::string dir = (fs::path(opt.out_dir) / "checkpoints" / fmt::format("step_{:08d}", step)).string();
    save_checkpoint(dir, m, adam, tc, st, opt.tokenizer_json, opt.data_desc, opt.add_files);
    last_checkpoint = dir;
    auto all = list_checkpoints(opt.out_dir);
    for (size_t i = 0; i + size_t(tc.keep_checkpoints) < all.size(); ++i) fs::remove_all(all[i]);
  };
  auto plot = [&] {
    write_loss_svg((fs::path(opt.out_dir) / "loss.svg").string(), train_curve, val_curve,
                   fmt::format("{:.1f}M-parameter model: {} loss", double(P) / 1e6, opt.label));
  };

  SignalGuard signals;
  Progress bar(opt.label, double(tc.max_steps), "steps", opt.quiet);
  auto t_start = Clock::now();
  int64_t tokens_done = 0;
  int64_t step = st.step;
  std::vector<Batch> micro(size_t(tc.grad_accum));
  for (; step < tc.max_steps; ++step) {
    auto t0 = Clock::now();
    const double lr = learning_rate(tc, step);
    // Every micro-batch first, so that each token's gradient is weighted by 1 / (the
    // weight of the tokens that count in the whole step), however they are spread.
    double weight = 0;
    int64_t tokens = 0;
    for (auto& b : micro) {
      data.next(b);
      weight += b.weight;
      tokens += int64_t(b.B) * b.T;
    }
    m.zero_grad();
    double loss = 0;
    if (weight > 0)
      for (auto& b : micro)
        if (b.counted > 0)
          loss += m.forward_backward(b.x.data(), b.y.data(), b.B, b.T, 1.0 / weight, nullptr,
                                     b.w.empty() ? nullptr : b.w.data()) *
                  b.weight / weight;
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
    tokens_done += tokens;
    const double tok_s = double(tokens) / secs;
    const double mfu = tok_s * flops_tok / peak;
    json row = {{"step", step + 1}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm}, {"tokens_per_s", tok_s}, {"mfu", mfu}};
    train_curve.push_back({double(step + 1), loss});
    const bool last = step + 1 == tc.max_steps;
    if ((tc.eval_every && (step + 1) % tc.eval_every == 0) || last) {
      if (opt.validate) {
        st.last_val_loss = opt.validate(m);
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
  // The final model folder for the next stages: the checkpoint without the optimizer.
  // Assembled beside it and renamed into place, like a checkpoint.
  const std::string final_dir = (fs::path(opt.out_dir) / "model").string();
  AtomicDir final_model(final_dir);
  for (const auto& e : fs::directory_iterator(last_checkpoint)) {
    auto name = e.path().filename().string();
    if (name != "optimizer.safetensors" && name != "trainer_state.json") fs::copy_file(e.path(), final_model.file(name));
  }
  final_model.commit();
  res.steps = step;
  res.val_loss = st.last_val_loss;
  res.model_dir = final_dir;
  res.checkpoint = last_checkpoint;
  double total_s = std::chrono::duration<double>(Clock::now() - t_start).count();
  if (!opt.quiet)
    fmt::print(stderr, "done: {} steps, {} tokens in {}, {:.0f} tokens/s; final train loss {:.4f}, val loss {:.4f}\n",
               step - res.start_step, tokens_done, human_duration(total_s), double(tokens_done) / total_s,
               res.losses.empty() ? 0.0 : res.losses.back(), res.val_loss);
  return res;
}

}  // namespace slm::train
