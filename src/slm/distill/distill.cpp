#include "slm/distill/distill.h"

#include <omp.h>

#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "slm/data/pack.h"
#include "slm/distill/topk_cache.h"
#include "slm/model/model_files.h"
#include "slm/train/pretrain.h"
#include "slm/train/sft.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::distill {

namespace fs = std::filesystem;
using nlohmann::json;

std::string tokenizer_difference(const tokenizer::Tokenizer& a, const tokenizer::Tokenizer& b) {
  if (a.vocab_size() != b.vocab_size()) return fmt::format("{} tokens against {}", a.vocab_size(), b.vocab_size());
  for (uint32_t id = 0; id < a.vocab_size(); ++id)
    if (a.token(id) != b.token(id)) return fmt::format("token {} differs", id);
  if (a.merges().size() != b.merges().size())
    return fmt::format("{} merges against {}", a.merges().size(), b.merges().size());
  for (size_t i = 0; i < a.merges().size(); ++i)
    if (a.merges()[i].left != b.merges()[i].left || a.merges()[i].right != b.merges()[i].right)
      return fmt::format("merge {} differs", i);
  if (a.specials() != b.specials()) return "the special tokens differ";
  return "";
}

namespace {

const char* divergence_name(Divergence d) { return d == Divergence::forward ? "forward" : "reverse"; }

// Checks the teacher against the data's tokenizer and the student's shape.
void check_teacher(const model::LoadedModel& t, const DistillOptions& o, const std::string& data_tokenizer) {
  if (!data_tokenizer.empty()) {
    std::string diff = tokenizer_difference(*t.tok, tokenizer::Tokenizer::load(data_tokenizer));
    if (!diff.empty())
      throw Error(fmt::format("the teacher's tokenizer is not the data's ({}): teacher and student must share one "
                              "tokenizer (pack the data with the teacher's tokenizer.json)",
                              diff),
                  o.teacher);
  }
  if (t.model->config().vocab_size != o.student.vocab_size)
    throw Error(fmt::format("the teacher's vocabulary is {} tokens, the student's {}: they must share one tokenizer",
                            t.model->config().vocab_size, o.student.vocab_size),
                o.teacher);
  if (t.model->config().context < o.student.context)
    throw Error(fmt::format("the teacher's context ({}) is shorter than the student's ({})",
                            t.model->config().context, o.student.context),
                o.teacher);
}

// The cache for this run: reused when it was made for the same teacher, data and shape,
// otherwise (re)made by running the teacher once.
std::unique_ptr<TopkCache> open_or_build_cache(const DistillOptions& o, model::Transformer<float>& teacher,
                                               const data::OpenShards& train, int T) {
  const auto& tc = o.train;
  TopkCacheSpec spec;
  spec.k = o.cache_topk;
  spec.context = T;
  spec.seed = tc.seed;
  spec.teacher = o.teacher;
  spec.teacher_hash = model_hash(teacher);
  spec.data = fs::weakly_canonical(o.data_dir).string();
  data::SamplerOptions so;
  so.context = T;
  so.batch = tc.batch_size;
  const int64_t available = int64_t(data::BatchSampler(train.ptrs, so).windows());
  spec.windows = std::min<int64_t>(tc.max_steps * tc.batch_size * tc.grad_accum, available);
  const std::string dir = o.cache_dir.empty() ? (fs::path(o.out_dir) / "teacher_topk").string() : o.cache_dir;
  if (fs::exists(fs::path(dir) / "meta.json")) {
    auto c = std::make_unique<TopkCache>(dir);
    std::string why;
    if (c->matches(spec, why)) {
      if (!o.quiet) fmt::print(stderr, "teacher top-k: reusing {} ({} windows, k {})\n", dir, c->windows(), c->k());
      return c;
    }
    if (!o.quiet) fmt::print(stderr, "teacher top-k: {} does not fit this run ({}); making it again\n", dir, why);
  }
  if (!o.quiet)
    fmt::print(stderr, "teacher top-k: running the teacher over {} windows of {} tokens, k {} -> {} ({:.0f} MB)\n",
               spec.windows, T, spec.k, dir, double(spec.windows) * T * spec.k * 8 / 1e6);
  build_topk_cache(teacher, train, spec, tc.batch_size, dir, o.quiet);
  return std::make_unique<TopkCache>(dir);
}

}  // namespace

namespace {

// The micro-batch loss against the teacher run on the fly: its forward pass on the same
// inputs, then the KD loss over all its logits.
std::function<double(model::Transformer<float>&, const train::Batch&, double)> on_the_fly(
    model::Transformer<float>& teacher, const KdOptions& kd) {
  return [&teacher, kd](model::Transformer<float>& m, const train::Batch& b, double scale) {
    teacher.forward(b.x.data(), b.B, b.T);
    const TeacherLogits t{teacher.logits(), nullptr, nullptr, 0};
    return m.forward_backward_logits(b.x.data(), b.B, b.T, [&](float* z) {
      return kd_forward_backward(z, b.y.data(), t, b.B * b.T, m.config().vocab_size, kd, scale,
                                 b.w.empty() ? nullptr : b.w.data()).loss;
    }, scale);  // an MoE student's router keeps its balance and z losses
  };
}

json distill_info(const DistillOptions& o, const model::Transformer<float>& teacher) {
  return {{"teacher", o.teacher},
          {"teacher_params", teacher.num_params()},
          {"alpha", o.kd.alpha},
          {"temperature", o.kd.temperature},
          {"divergence", divergence_name(o.kd.divergence)},
          {"cache_topk", o.cache_topk},
          {"init", o.init}};
}

void print_plan(const DistillOptions& o, const model::Transformer<float>& teacher, const model::ModelConfig& mc,
                int64_t student_params) {
  if (o.quiet) return;
  const auto& tc = teacher.config();
  fmt::print(stderr,
             "distill: teacher {:.2f}M parameters (dim {}, {} layers) -> student {:.2f}M (dim {}, {} layers); "
             "alpha {}, temperature {}, {} KL, teacher {}\n",
             double(teacher.num_params()) / 1e6, tc.dim, tc.n_layers, double(student_params) / 1e6, mc.dim,
             mc.n_layers, o.kd.alpha, o.kd.temperature, divergence_name(o.kd.divergence),
             o.cache_topk > 0 ? fmt::format("top-{} from cache", o.cache_topk) : std::string("on the fly"));
}

// Instruction records: fine-tuning (train/sft.h) of the student from --init, with the KD
// loss on the response tokens (the prompt's targets are -1, so they count in neither part).
train::TrainResult distill_instructions(const DistillOptions& o, model::LoadedModel& teacher) {
  if (o.init.empty())
    throw Error("distilling on instruction records fine-tunes a student model: give it with --init DIR", "--init");
  if (o.cache_topk > 0) throw Error("the top-k cache is for token shards; on instruction records the teacher runs on the fly", "--cache-topk");
  auto student = model::load_model_and_tokenizer(o.init);
  std::string diff = tokenizer_difference(*student.tok, *teacher.tok);
  if (!diff.empty())
    throw Error(fmt::format("the student's tokenizer is not the teacher's ({})", diff), o.init);
  if (teacher.model->config().context < student.model->config().context)
    throw Error(fmt::format("the teacher's context ({}) is shorter than the student's ({})",
                            teacher.model->config().context, student.model->config().context),
                o.teacher);
  print_plan(o, *teacher.model, student.model->config(), student.model->num_params());
  train::FinetuneOptions fo;
  fo.base = o.init;
  fo.data = o.data_dir;
  fo.out_dir = o.out_dir;
  fo.resume = o.resume;
  fo.train = o.train;
  fo.truncate = o.truncate;  // as slm finetune: a distilled and a fine-tuned student see the same records
  // Each example's response weighs the same in both parts of the loss, as slm finetune's
  // default: with every token weighing the same, the stories drowned the short answers and
  // a distilled student gave one answer to 72% of the questions (docs/distillation.md).
  fo.per_example_loss = o.per_example_loss;
  fo.words_weight = o.words_weight;
  fo.threads = o.threads;
  fo.quiet = o.quiet;
  fo.stop_after = o.stop_after;
  fo.forward_backward = on_the_fly(*teacher.model, o.kd);
  fo.run_info = {{"distill", distill_info(o, *teacher.model)}};
  return train::finetune(fo);
}

}  // namespace

train::TrainResult distill(const DistillOptions& o) {
  omp_set_num_threads(std::max(1, o.threads));
  train::TrainConfig tc = o.train;
  tc.validate("train config");
  check_kd_options(o.kd, o.cache_topk > 0);
  model::LoadedModel teacher = model::load_model_and_tokenizer(o.teacher);
  if (fs::is_regular_file(o.data_dir)) return distill_instructions(o, teacher);
  if (o.words_weight != 1.0) throw Error("weighs the required words of instruction records, not token shards", "--words-weight");

  auto train_paths = data::list_shards(o.data_dir, "train");
  if (train_paths.empty()) throw Error("no train_*.bin shards (make them with slm data pack)", o.data_dir);
  data::OpenShards train_shards(train_paths), val_shards(data::list_shards(o.data_dir, "val"));
  std::string tokenizer_json = (fs::path(o.data_dir) / "tokenizer.json").string();
  if (!fs::exists(tokenizer_json)) tokenizer_json.clear();

  // The student: from --init's weights, or a fresh one of --student's shape, which takes
  // the teacher's vocabulary unless it names one (which must match).
  DistillOptions opt = o;
  std::unique_ptr<model::Transformer<float>> student;
  if (!o.init.empty()) {
    student = model::load_model(o.init);
    opt.student = student->config();
  } else {
    if (opt.student.vocab_size == 0) opt.student.vocab_size = teacher.model->config().vocab_size;
    opt.student.validate("student config");
  }
  check_teacher(teacher, opt, tokenizer_json);
  const model::ModelConfig& mc = opt.student;
  const uint32_t max_tok = std::max(train_shards.max_token(), val_shards.max_token());
  if (int64_t(max_tok) >= mc.vocab_size)
    throw Error(fmt::format("the shards hold token {} but the vocabulary is {}", max_tok, mc.vocab_size), o.data_dir);
  const int B = tc.batch_size, T = mc.context, V = mc.vocab_size;
  if (!student) {
    student = std::make_unique<model::Transformer<float>>(mc);
    student->init_weights(tc.seed);
  }
  print_plan(opt, *teacher.model, mc, student->num_params());

  // The batches and the loss of one micro-batch, for each way of asking the teacher.
  std::unique_ptr<train::BatchSource> batches;
  std::unique_ptr<TopkCache> cache;
  std::vector<int32_t> ids;
  std::vector<float> vals;
  train::LoopOptions lo;
  if (o.cache_topk > 0) {
    cache = open_or_build_cache(opt, *teacher.model, train_shards, T);
    batches = std::make_unique<CachedBatches>(*cache, B, tc.seed);
    lo.forward_backward = [&](model::Transformer<float>& m, const train::Batch& b, double scale) {
      // The rows' [T, k] blocks of the cache, side by side as the loss reads them.
      const int K = cache->k();
      ids.resize(size_t(b.B) * b.T * K);
      vals.resize(ids.size());
      for (int r = 0; r < b.B; ++r) {
        std::copy_n(cache->ids(b.row_ids[size_t(r)]), size_t(b.T) * K, ids.data() + size_t(r) * b.T * K);
        std::copy_n(cache->logits(b.row_ids[size_t(r)]), size_t(b.T) * K, vals.data() + size_t(r) * b.T * K);
      }
      const TeacherLogits t{nullptr, ids.data(), vals.data(), K};
      return m.forward_backward_logits(b.x.data(), b.B, b.T, [&](float* z) {
        return kd_forward_backward(z, b.y.data(), t, b.B * b.T, V, o.kd, scale).loss;
      }, scale);
    };
  } else {
    data::SamplerOptions so;
    so.context = T;
    so.batch = B;
    so.seed = tc.seed;
    batches = std::make_unique<train::ShardBatches>(train_shards, so);
    lo.forward_backward = on_the_fly(*teacher.model, o.kd);
  }

  lo.train = tc;
  lo.out_dir = o.out_dir;
  lo.resume = o.resume;
  lo.tokenizer_json = tokenizer_json;
  lo.data_desc = o.data_dir;
  lo.label = "distill";
  lo.quiet = o.quiet;
  lo.stop_after = o.stop_after;
  lo.run_info = {{"distill", distill_info(o, *teacher.model)}};
  if (!val_shards.owned.empty())
    lo.validate = [&](model::Transformer<float>& m) { return train::shard_loss(m, val_shards, B, T, tc.eval_batches); };
  return train::run_training(*student, *batches, lo);
}

}  // namespace slm::distill
