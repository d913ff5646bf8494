#include "slm/train/loop.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "slm/dist/comm.h"
#include "slm/tensor/gemm.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/adamw.h"
#include "slm/train/space_sharing.h"
#include "slm/train/stop_signal.h"
#include "slm/train/train_checkpoint.h"
#include "slm/train/expert_load_plot.h"
#include "slm/train/loss_plot.h"
#include "slm/util/atomic_dir.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/process_memory.h"
#include "slm/util/progress.h"

namespace slm::train {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

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
  // The best of several runs for at least a quarter second: four runs alone were seen to
  // land on a moment another process held a core, halving the peak (MFU "146%").
  double best = 0;
  const auto start = Clock::now();
  for (int r = 0; r < 40 && (r < 4 || std::chrono::duration<double>(Clock::now() - start).count() < 0.25); ++r) {
    auto t0 = Clock::now();
    tensor::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * n / s);
  }
  return best;
}

namespace {

// The optimizer of this rank: all of the parameters, or (ZeRO-1) its shard of them.
AdamW make_optimizer(const model::Transformer<float>& m, const TrainConfig& tc, const Adapters* adapters) {
  if (adapters) {
    if (tc.zero) throw Error("ZeRO-1 shards the AdamW state of full training; LoRA's is small already", "train.zero");
    return AdamW(adapters->tensors(), adapters->size(), tc.beta1, tc.beta2, tc.eps, tc.weight_decay);
  }
  dist::Range shard{0, m.num_params()};
  if (tc.zero) shard = dist::shard_range(m.num_params(), dist::rank());
  return AdamW(m.layout(), tc.beta1, tc.beta2, tc.eps, tc.weight_decay, tc.decay_embeddings, shard.lo, shard.hi);
}

// The shared spellings of train.share_space_embeddings, or null when it is off.
std::unique_ptr<SpaceSharing> make_space_sharing(const model::Transformer<float>& m, const LoopOptions& opt) {
  if (!opt.train.share_space_embeddings) return nullptr;
  refuse_space_sharing_with_adapters(true, opt.adapters != nullptr);
  if (opt.tokenizer_json.empty())
    throw Error("needs the run's tokenizer to pair \" w\" with \"w\", and this run has none (no tokenizer.json beside the data)",
                "train.share_space_embeddings");
  const auto tok = tokenizer::Tokenizer::load(opt.tokenizer_json);
  return std::make_unique<SpaceSharing>(tok, m.layout());
}

// The global L2 norm of gradients of which this rank holds [r.lo, r.hi) (ZeRO-1: after
// the reduce-scatter); scales that part down to max_norm when the whole is above it.
double clip_sharded_grad_norm(float* grads, dist::Range r, double max_norm) {
  double ss = 0;
  for (int64_t i = r.lo; i < r.hi; ++i) ss += double(grads[i]) * grads[i];
  dist::allreduce_sum(&ss, 1, "the gradient norm");
  const double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    const float s = float(max_norm / (norm + 1e-6));
    for (int64_t i = r.lo; i < r.hi; ++i) grads[i] *= s;
  }
  return norm;
}

}  // namespace

namespace {

// One run of the loop, in the order it happens: begin (fresh or resumed), steps, and
// either a stop (signal, --stop-after) or the end with the final model folder.
class TrainingRun {
 public:
  TrainingRun(model::Transformer<float>& m, BatchSource& data, const LoopOptions& opt)
      : m_(m), data_(data), opt_(opt), tc_(opt.train), adam_(make_optimizer(m, tc_, opt.adapters)),
        sharing_(make_space_sharing(m, opt)),
        metrics_path_((fs::path(opt.out_dir) / "metrics.jsonl").string()),
        micro_(size_t(tc_.grad_accum)) {}

  TrainResult run() {
    begin();
    StopSignal signals;  // Ctrl-C: a checkpoint, then stop
    Progress bar(opt_.label, double(tc_.max_steps), "steps", opt_.quiet || !root_);
    int64_t step = st_.step;
    for (; step < tc_.max_steps; ++step) {
      const bool last = step + 1 == tc_.max_steps;
      const std::string line = train_step(step, last);
      bar.update(double(step + 1), line);
      if (tc_.checkpoint_every && (step + 1) % tc_.checkpoint_every == 0 && !last) checkpoint(step + 1);
      // Every rank stops at the same step (a signal may reach one rank a step before another).
      const bool stop = dist::allreduce_max(StopSignal::received() != 0 || (opt_.stop_after >= 0 && step + 1 - res_.start_step >= opt_.stop_after),
                                            "the stop check");
      if (stop && !last) {
        bar.finish();
        return stopped(step + 1);
      }
    }
    bar.finish();
    return finished(step);
  }

 private:
  // Restores a checkpoint (weights, moments, data position, metrics) or starts afresh,
  // and records the run's configuration in run.json.
  void begin() {
    tc_.validate("train config");
    dist::set_timeout(tc_.dist_timeout);
    m_.set_precision(tensor::parse_precision(tc_.dtype, "train.dtype"));
    // The run folder is made only once the checkpoint to resume from has loaded, so a
    // bad --resume leaves nothing behind. Only rank 0 writes into it.
    if (!opt_.resume.empty()) {
      resume();
    } else if (root_) {
      fs::create_directories(fs::path(opt_.out_dir) / "checkpoints");
      write_file_atomic(metrics_path_, "");
    }
    // Every rank starts from rank 0's weights (the same seed gives the same ones; this makes sure).
    dist::broadcast(m_.params(), m_.num_params() * int64_t(sizeof(float)), 0, "sending the start weights");
    if (opt_.adapters && world_ > 1) {
      dist::broadcast(opt_.adapters->params(), opt_.adapters->size() * int64_t(sizeof(float)), 0,
                      "sending the start adapters");
      opt_.adapters->update_model();
    }
    res_.start_step = st_.step;
    if (sharing_ && root_ && !opt_.quiet)
      fmt::print(stderr, "shared spellings: {} tokens \" w\" train with the row of \"w\" (train.share_space_embeddings)\n",
                 sharing_->pairs());
    if (root_) {
      json run = opt_.run_info.is_object() ? opt_.run_info : json::object();
      run["model"] = m_.config().to_json();
      run["train"] = tc_.to_json();
      run["data"] = opt_.data_desc;
      run["world"] = world_;
      write_file_atomic((fs::path(opt_.out_dir) / "run.json").string(), run.dump(2) + "\n");
      read_loss_curves(metrics_path_, train_curve_, val_curve_);  // the curve so far, when resuming
      metrics_.open(metrics_path_, std::ios::app);
    }
    peak_ = measure_peak_flops();
    flops_tok_ = opt_.adapters ? model::flops_per_token_frozen(m_.config(), opt_.adapters->size())
                               : model::flops_per_token(m_.config());
    t_start_ = Clock::now();
  }

  // An optimizer for the whole model, even under ZeRO-1: what a checkpoint holds.
  AdamW whole_optimizer() const {
    return AdamW(m_.layout(), tc_.beta1, tc_.beta2, tc_.eps, tc_.weight_decay, tc_.decay_embeddings);
  }

  // An optimizer of no parameters: what a rank that does not hold the whole state passes.
  AdamW no_optimizer() const { return AdamW(m_.layout(), 0, 0, 1, 0, false, 0, 0); }

  // Rank 0 reads the checkpoint and sends the others its weights, moments and state, so
  // only rank 0 needs the run folder (no shared file system is assumed). Under ZeRO-1 only
  // rank 0 holds the whole AdamW state, and each rank receives its shard.
  void resume() {
    const int64_t P = opt_.adapters ? opt_.adapters->size() : m_.num_params();
    AdamW whole = tc_.zero && root_ ? whole_optimizer() : no_optimizer();
    AdamW& into = tc_.zero ? whole : adam_;
    std::string state;
    if (root_) {
      const std::string cp = resolve_checkpoint(opt_.resume);
      st_ = load_checkpoint(cp, m_, into, opt_.adapters);
      state = json{{"step", st_.step}, {"data", st_.data}, {"last_val_loss", st_.last_val_loss}}.dump();
      fs::create_directories(fs::path(opt_.out_dir) / "checkpoints");
      truncate_metrics(metrics_path_, st_.step);
      if (!opt_.quiet) fmt::print(stderr, "resumed from {} at step {}\n", cp, st_.step);
    }
    if (tc_.zero) {
      dist::scatter_shards(whole.m().data(), adam_.m().data(), P, "sending the checkpoint's AdamW state");
      dist::scatter_shards(whole.v().data(), adam_.v().data(), P, "sending the checkpoint's AdamW state");
    } else {
      dist::broadcast(adam_.m().data(), P * int64_t(sizeof(float)), 0, "sending the checkpoint's AdamW state");
      dist::broadcast(adam_.v().data(), P * int64_t(sizeof(float)), 0, "sending the checkpoint's AdamW state");
    }
    if (world_ > 1) {
      int64_t bytes = int64_t(state.size());
      dist::broadcast(&bytes, sizeof bytes, 0, "sending the checkpoint");
      state.resize(size_t(bytes));
      dist::broadcast(state.data(), bytes, 0, "sending the checkpoint");
      const json j = json::parse(state);
      st_.step = j.at("step").get<int64_t>();
      st_.data = j.at("data");
      st_.last_val_loss = j.at("last_val_loss").get<double>();
    }
    data_.restore(st_.data);
  }

  // Sums over the ranks: in MPI's order, or in the fixed one of the deterministic mode.
  template <class T>
  void sum_over_ranks(T* x, int64_t n, const char* what) {
    if (tc_.deterministic)
      dist::chain_sum(x, n, what);
    else
      dist::allreduce_sum(x, n, what);
  }

  // Forward and backward over every micro-batch, then clipping and the AdamW step.
  // Returns the step's loss and gradient norm.
  std::pair<double, double> optimize(int64_t step, double lr, int64_t& tokens) {
    // Every micro-batch first, so that each token's gradient is weighted by 1 / (the
    // weight of the tokens that count in the whole step, on every rank), however they are spread.
    double weight = 0;
    tokens = 0;
    for (auto& b : micro_) {
      data_.next(b);
      weight += b.weight;
      tokens += int64_t(b.B) * b.T;
    }
    sum_over_ranks(&weight, 1, "the step's token count");
    tokens *= world_;
    // What the optimizer steps: the adapters, or every weight of the model.
    Adapters* ad = opt_.adapters;
    const int64_t P = ad ? ad->size() : m_.num_params();
    float* params = ad ? ad->params() : m_.params();
    float* grads = ad ? ad->grads() : m_.grads();
    auto zero_grad = [&] { ad ? ad->zero_grad() : m_.zero_grad(); };
    zero_grad();
    // Overlap: the last micro-batch's backward starts each layer's all-reduce as it
    // finishes the layer (the sums need the gradients of every micro-batch).
    const bool overlap = world_ > 1 && tc_.overlap_comm && !tc_.deterministic && !tc_.zero && !ad;
    dist::OverlappedSums pending("the gradient all-reduce");
    int next_layer = m_.config().n_layers - 1;  // the layers' sums start last to first on every rank
    auto start_layer_sum = [&](int l) {
      for (; next_layer >= l; --next_layer) {
        const auto [lo, hi] = m_.layout().layer_range(next_layer);
        pending.start(grads + lo, hi - lo);
      }
      pending.poll();
    };
    size_t last = micro_.size();
    for (size_t i = 0; i < micro_.size(); ++i)
      if (micro_[i].counted > 0) last = i;
    double loss = 0;
    if (weight > 0) {
      // Deterministic: each micro-batch's gradients alone, then added in order, as the
      // ranks' sums are added in order (dist::chain_sum).
      if (tc_.deterministic) acc_.assign(size_t(P), 0.f);
      for (size_t i = 0; i < micro_.size(); ++i) {
        auto& b = micro_[i];
        if (b.counted == 0) continue;
        if (tc_.deterministic) zero_grad();
        if (overlap && i == last) m_.on_layer_grads = start_layer_sum;
        // Training-only randomness (LoRA's dropout) drawn from the step, micro-batch and
        // rank, so a resumed run draws the same.
        if (ad) ad->set_training(true, tc_.seed * 0x9E3779B97F4A7C15ull + ((uint64_t(step) << 24) | (uint64_t(i) << 12) |
                                                                         uint64_t(dist::rank())));
        loss += (opt_.forward_backward ? opt_.forward_backward(m_, b, 1.0 / weight)
                                       : m_.forward_backward(b.x.data(), b.y.data(), b.B, b.T, 1.0 / weight, nullptr,
                                                             b.w.empty() ? nullptr : b.w.data())) *
                b.weight / weight;
        m_.on_layer_grads = nullptr;
        if (ad) ad->set_training(false, 0);
        if (tc_.deterministic)
          for (int64_t k = 0; k < P; ++k) acc_[size_t(k)] += grads[k];
      }
      if (tc_.deterministic) std::copy(acc_.begin(), acc_.end(), grads);
    }
    // Gradients of the shared rows (linear, so before the sums over ranks as well as after).
    if (sharing_) sharing_->grads_to_shared(grads);
    // Collectives must come in the same order on every rank: the layers a rank did not
    // start in its backward (none, without a micro-batch with targets) start here.
    if (overlap) start_layer_sum(0);
    sum_over_ranks(&loss, 1, "the step's loss");
    double norm = 0;
    if (tc_.zero) {
      // ZeRO-1: each rank needs the sums of its own shard only (a reduce-scatter moves
      // half the bytes of an all-reduce), updates it, and the weights are gathered back.
      if (tc_.deterministic)
        dist::chain_sum(grads, P, "the gradient sum");
      else
        dist::reduce_scatter_sum(grads, P, "the gradient reduce-scatter");
      norm = clip_sharded_grad_norm(grads, {adam_.lo(), adam_.hi()}, tc_.grad_clip);
    } else if (overlap) {
      // The embedding before the layers, and the final norm and head after them.
      const auto first = m_.layout().layer_range(0).first, end = m_.layout().layer_range(m_.config().n_layers - 1).second;
      pending.start(grads, first);
      pending.start(grads + end, P - end);
      pending.finish();
      norm = clip_grad_norm(grads, P, tc_.grad_clip);
    } else {
      sum_over_ranks(grads, P, "the gradient all-reduce");
      norm = clip_grad_norm(grads, P, tc_.grad_clip);
    }
    if (!std::isfinite(loss) || !std::isfinite(norm))
      throw Error(fmt::format("the loss became {} at step {}; nothing was saved over the last good checkpoint ({})",
                              std::isfinite(loss) ? "finite but the gradient norm is not" : fmt::format("{}", loss),
                              step + 1, last_checkpoint_.empty() ? "none yet" : last_checkpoint_),
                  "training");
    // With shared spellings AdamW steps R, and the model gets W = M R back (every rank
    // holds all of W here, so each can map it, ZeRO-1's shards too).
    if (sharing_) sharing_->to_shared(params);
    adam_.step(params, grads, lr, step + 1);
    if (tc_.zero) dist::allgather(params, P, "the ZeRO-1 weight all-gather");
    if (sharing_) sharing_->to_model(params);
    if (ad) ad->update_model();
    return {loss, norm};
  }

  // One optimizer step with its bookkeeping: metrics.jsonl, validation, the loss curve.
  // Returns the progress line.
  std::string train_step(int64_t step, bool last) {
    auto t0 = Clock::now();
    const double comm0 = dist::collective_seconds();
    const double lr = learning_rate(tc_, step);
    int64_t tokens = 0;
    auto [loss, norm] = optimize(step, lr, tokens);
    json extra = data_.step_metrics();
    std::string note;
    if (extra.contains("loss")) loss = extra["loss"].get<double>();
    if (extra.contains("note")) note = " | " + extra["note"].get<std::string>(), extra.erase("note");
    res_.losses.push_back(loss);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    tokens_done_ += tokens;
    const double tok_s = double(tokens) / secs;
    const double mfu = tok_s * flops_tok_ / peak_;
    json row = {{"step", step + 1}, {"loss", loss}, {"lr", lr}, {"grad_norm", norm}, {"tokens_per_s", tok_s}, {"mfu", mfu},
                {"step_s", secs}};
    if (world_ > 1) row["comm_share"] = (dist::collective_seconds() - comm0) / secs;  // waiting for the others
    row["rss_mb"] = double(resident_bytes()) / 1e6;  // this rank's memory (rank 0's, under mpirun)
    row.update(extra);
    if (m_.config().is_moe()) row["expert_tokens"] = m_.take_expert_load();  // [layer][expert], this step
    train_curve_.push_back({double(step + 1), loss});
    if (root_ && ((tc_.eval_every && (step + 1) % tc_.eval_every == 0) || last)) {
      if (opt_.validate) {  // rank 0 alone: the others wait at the next step's sums
        st_.last_val_loss = opt_.validate(m_);
        row["val_loss"] = st_.last_val_loss;
        if (opt_.val_metrics) row.update(opt_.val_metrics());
        val_curve_.push_back({double(step + 1), st_.last_val_loss});
      }
      plot();
    }
    if (root_ && ((step + 1) % tc_.log_every == 0 || last)) metrics_ << row.dump() << "\n" << std::flush;
    return fmt::format("loss {:.4f}{} | lr {:.2e} | {:.0f} tok/s | MFU {:.1f}%{}", loss,
                       st_.last_val_loss >= 0 ? fmt::format(" val {:.4f}", st_.last_val_loss) : "", lr, tok_s,
                       100 * mfu, note);
  }

  void checkpoint(int64_t step) {
    st_.step = step;
    st_.world = world_;
    st_.data = data_.state();
    std::string dir = (fs::path(opt_.out_dir) / "checkpoints" / fmt::format("step_{:08d}", step)).string();
    last_checkpoint_ = dir;
    if (tc_.zero) {
      // The checkpoint holds the whole state, so it resumes at any number of ranks; only
      // rank 0 ever holds all of it.
      AdamW whole = root_ ? whole_optimizer() : no_optimizer();
      dist::gather_shards(adam_.m().data(), whole.m().data(), m_.num_params(), "gathering the AdamW state");
      dist::gather_shards(adam_.v().data(), whole.v().data(), m_.num_params(), "gathering the AdamW state");
      if (root_) save_checkpoint(dir, m_, whole, tc_, st_, opt_.tokenizer_json, opt_.data_desc, opt_.add_files);
    } else if (root_) {
      save_checkpoint(dir, m_, adam_, tc_, st_, opt_.tokenizer_json, opt_.data_desc, opt_.add_files, opt_.adapters);
    }
    if (!root_) return;
    auto all = list_checkpoints(opt_.out_dir);
    for (size_t i = 0; i + size_t(tc_.keep_checkpoints) < all.size(); ++i) fs::remove_all(all[i]);
  }

  void plot() {
    if (!root_) return;
    write_loss_svg((fs::path(opt_.out_dir) / "loss.svg").string(), train_curve_, val_curve_,
                   fmt::format("{:.1f}M-parameter model: {} loss", double(m_.num_params()) / 1e6, opt_.label));
    if (m_.config().is_moe())
      write_expert_load_svg(metrics_path_, (fs::path(opt_.out_dir) / "expert_load.svg").string(),
                            "expert load (share of each layer's routed tokens) over steps");
  }

  // Interrupted (a signal or --stop-after): one checkpoint to resume from.
  TrainResult stopped(int64_t step) {
    checkpoint(step);
    plot();
    res_.interrupted = true;
    res_.steps = step;
    res_.checkpoint = last_checkpoint_;
    // Said even when quiet: where the work went is never noise (unless the caller planned the stop).
    if (root_ && (StopSignal::received() || !opt_.stop_quietly))
      fmt::print(stderr, "stopped at step {}{}; checkpoint saved: {}\nresume with: --resume {}\n", step,
               StopSignal::received() ? " (signal)" : "", last_checkpoint_, opt_.out_dir);
    return res_;
  }

  // The last checkpoint, and the final model folder for the next stages: the checkpoint
  // without the optimizer, assembled beside it and renamed into place.
  TrainResult finished(int64_t step) {
    checkpoint(step);
    plot();
    const std::string final_dir = (fs::path(opt_.out_dir) / "model").string();
    if (root_) {
      AtomicDir final_model(final_dir);
      for (const auto& e : fs::directory_iterator(last_checkpoint_)) {
        auto name = e.path().filename().string();
        if (name != "optimizer.safetensors" && name != "trainer_state.json")
          fs::copy_file(e.path(), final_model.file(name));
      }
      final_model.commit();
    }
    res_.steps = step;
    res_.val_loss = st_.last_val_loss;
    res_.model_dir = final_dir;
    res_.checkpoint = last_checkpoint_;
    double total_s = std::chrono::duration<double>(Clock::now() - t_start_).count();
    if (!opt_.quiet && root_)
      fmt::print(stderr, "done: {} steps, {} tokens in {}, {:.0f} tokens/s; final train loss {:.4f}{}\n",
                 step - res_.start_step, tokens_done_, human_duration(total_s), double(tokens_done_) / total_s,
                 res_.losses.empty() ? 0.0 : res_.losses.back(),
                 // -1: no validation ran (GRPO has no validation data)
                 res_.val_loss < 0 ? std::string() : fmt::format(", val loss {:.4f}", res_.val_loss));
    return res_;
  }

  model::Transformer<float>& m_;
  BatchSource& data_;
  const LoopOptions& opt_;
  const TrainConfig& tc_;
  const int world_ = dist::world_size();
  const bool root_ = dist::is_root();
  AdamW adam_;
  std::unique_ptr<SpaceSharing> sharing_;  // train.share_space_embeddings, or null
  std::vector<float> acc_;  // the deterministic mode's sum of micro-batch gradients
  const std::string metrics_path_;
  std::vector<Batch> micro_;
  TrainerState st_;
  TrainResult res_;
  std::vector<CurvePoint> train_curve_, val_curve_;
  std::ofstream metrics_;
  std::string last_checkpoint_;
  double peak_ = 0, flops_tok_ = 0;
  int64_t tokens_done_ = 0;
  Clock::time_point t_start_;
};

}  // namespace

TrainResult run_training(model::Transformer<float>& m, BatchSource& data, const LoopOptions& opt) {
  return TrainingRun(m, data, opt).run();
}

}  // namespace slm::train
