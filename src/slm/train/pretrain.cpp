#include "slm/train/pretrain.h"

#include <omp.h>

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/data/pack.h"
#include "slm/data/sampler.h"
#include "slm/dist/comm.h"
#include "slm/train/train_checkpoint.h"
#include "slm/model/model_files.h"
#include "slm/model/transformer.h"
#include "slm/tensor/gemm.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::train {

namespace fs = std::filesystem;
using nlohmann::json;

ShardBatches::ShardBatches(const data::OpenShards& shards, const data::SamplerOptions& so)
    : sampler_(shards.ptrs, so), so_(so) {}

void ShardBatches::next(Batch& b) {
  b.B = so_.batch;
  b.T = so_.context;
  b.x.resize(size_t(b.B) * b.T);
  b.y.resize(b.x.size());
  sampler_.next(b.x.data(), b.y.data());
  b.counted = int64_t(b.x.size());
  b.weight = double(b.counted);
}

json ShardBatches::state() const {
  auto s = sampler_.state();
  return {{"epoch", s.epoch}, {"position", s.position}};
}

void ShardBatches::restore(const json& j) {
  data::BatchSampler::State s;
  try {
    s.epoch = j.at("epoch").get<uint64_t>();
    s.position = j.at("position").get<uint64_t>();
  } catch (const json::exception& e) {
    throw Error(std::string("bad sampler state in the checkpoint: ") + e.what(), "trainer_state.json");
  }
  sampler_.restore(s);
}

double shard_loss(model::Transformer<float>& m, const data::OpenShards& val, int B, int T, int64_t batches) {
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

namespace {

// The init model's config, or the given one when its tensors are the init model's.
model::ModelConfig config_with_init(const model::ModelConfig& given, const model::ModelConfig& init,
                                    const std::string& where) {
  const model::ParamLayout a(given), b(init);
  for (size_t i = 0; i < std::max(a.tensors.size(), b.tensors.size()); ++i) {
    const auto shape = [](const model::ParamLayout& l, size_t i) {
      if (i >= l.tensors.size()) return std::string("absent");
      std::string s = l.tensors[i].name + " [";
      for (size_t k = 0; k < l.tensors[i].shape.size(); ++k) s += (k ? ", " : "") + std::to_string(l.tensors[i].shape[k]);
      return s + "]";
    };
    if (shape(a, i) != shape(b, i))
      throw Error(fmt::format("the run's model config makes tensor {} {}, the model to start from has {}: the shapes must "
                              "match (leave out --config and model.* settings to take the model's own config)",
                              i, shape(a, i), shape(b, i)),
                  where);
  }
  return given;
}

}  // namespace

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
  std::unique_ptr<model::Transformer<float>> init;
  if (!opt.init.empty()) {
    init = model::load_model(opt.init);
    if (mc.vocab_size == 0) mc.vocab_size = init->config().vocab_size;
    mc = opt.model_given ? config_with_init(mc, init->config(), "--init " + opt.init) : init->config();
  }
  if (mc.vocab_size == 0) mc.vocab_size = data_vocab;
  if (mc.vocab_size == 0) throw Error("model.vocab_size is 0 and the data has no meta.json to take it from", opt.data_dir);
  mc.validate("model config");
  uint32_t max_tok = std::max(train_shards.max_token(), val_shards.max_token());
  if (int64_t(max_tok) >= mc.vocab_size)
    throw Error(fmt::format("the shards hold token {} but model.vocab_size is {}: the shards' vocabulary exceeds the model's",
                            max_tok, mc.vocab_size),
                opt.data_dir);
  const int B = tc.batch_size, T = mc.context;

  // Data parallel: each rank reads its own slots of every step (sampler.h).
  keep_global_batch(tc, opt.resume, dist::world_size(), opt.quiet);
  data::SamplerOptions so;
  so.context = T;
  so.batch = B;
  so.seed = tc.seed;
  so.rank = dist::rank();
  so.world = dist::world_size();
  so.accum = tc.grad_accum;
  ShardBatches batches(train_shards, so);  // throws if the shards are shorter than the context

  model::Transformer<float> m(mc);
  m.init_weights(tc.seed);
  if (init) std::copy_n(init->params(), m.num_params(), m.params());  // a resumed run's checkpoint replaces them

  // What a person sees first: the size of the model and of its memory.
  const int64_t P = m.num_params();
  const int64_t act = model::Transformer<float>::activation_bytes(mc, B, T, tensor::parse_precision(tc.dtype, "train.dtype"));
  if (!opt.quiet && dist::is_root()) {
    fmt::print(stderr, "model: {:.2f}M parameters (dim {}, {} layers, {} heads, {} kv heads, hidden {}, context {}, vocab {})\n",
               double(P) / 1e6, mc.dim, mc.n_layers, mc.n_heads, mc.n_kv_heads, mc.hidden_dim, mc.context, mc.vocab_size);
    // Per rank: ZeRO-1 keeps 1/N of the AdamW state on each.
    const int world = dist::world_size();
    const double adam = 8.0 * double(P) / (tc.zero ? world : 1);
    fmt::print(stderr, "memory{}: parameters {} + gradients {} + AdamW state {}{} + activations {} = {}\n",
               world > 1 ? " per rank" : "", human_bytes(4.0 * P), human_bytes(4.0 * P), human_bytes(adam),
               tc.zero ? fmt::format(" (ZeRO-1: 1/{})", world) : "", human_bytes(double(act)),
               human_bytes(8.0 * P + adam + double(act)));
    if (world > 1)
      fmt::print(stderr, "data parallel: {} ranks x {} micro-batch(es) of {} = {} sequences per step{}\n", world,
                 tc.grad_accum, B, int64_t(world) * tc.grad_accum * B, tc.deterministic ? " (deterministic sums)" : "");
    fmt::print(stderr, "data: {} train windows of {} tokens, {} val shard(s); {} threads; BLAS kernel {}\n",
               batches.sampler().windows(), T, val_shards.owned.size(), opt.threads, tensor::blas_core_name());
  }

  LoopOptions lo;
  lo.train = tc;
  lo.out_dir = opt.out_dir;
  lo.resume = opt.resume;
  lo.tokenizer_json = tokenizer_json;
  lo.data_desc = opt.data_dir;
  lo.quiet = opt.quiet;
  lo.stop_after = opt.stop_after;
  lo.stop_quietly = opt.stop_quietly;
  if (!val_shards.owned.empty())
    lo.validate = [&](model::Transformer<float>& mm) { return shard_loss(mm, val_shards, B, T, tc.eval_batches); };
  return run_training(m, batches, lo);
}

}  // namespace slm::train
