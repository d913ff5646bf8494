#pragma once
// Logit distillation (`slm distill`): a student trains on token shards with the loss of
// train/kd_loss.h against a teacher's logits, through the shared training loop (train/loop.h),
// so it checkpoints, resumes and stops on Ctrl-C as pre-training does. The teacher runs
// on the fly beside each step, or once into a top-k cache (topk_cache.h) that training
// reads back. Teacher, student and data must share one tokenizer: checked, by every
// token and merge. The validation loss is plain next-token cross-entropy on the val
// shards, as pre-training reports it, so a distilled and a from-scratch student compare.
#include <cstdint>
#include <string>

#include "slm/train/kd_loss.h"
#include "slm/model/config.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/loop.h"
#include "slm/train/train_config.h"

namespace slm::distill {

// The loss lives in train/ (GRPO's KL mix uses it too); distillation's own names for it.
using train::check_kd_options;
using train::Divergence;
using train::kd_forward_backward;
using train::kd_loss;
using train::KdLoss;
using train::KdOptions;
using train::TeacherLogits;

struct DistillOptions {
  std::string teacher;         // a model folder (with tokenizer.json) or a .gguf file
  model::ModelConfig student;  // vocab_size 0: the teacher's
  std::string init;            // a model folder the student starts from instead (required with records)
  train::TrainConfig train;
  // A folder from `slm data pack` (token shards), or instruction records (.json/.jsonl, as
  // slm finetune reads them): the student, from init, is fine-tuned with the KD loss on
  // the response tokens.
  std::string data_dir;
  std::string out_dir, resume;
  KdOptions kd;
  // Instruction records only, as slm finetune's --loss, --words-weight and --truncate
  // (records longer than the context are skipped, counted, unless truncate).
  bool per_example_loss = true;
  double words_weight = 1.0;
  bool truncate = false;
  int cache_topk = 0;          // > 0: train from the teacher's top-k cached on disk
  std::string cache_dir;       // where the cache is (made when absent): default out_dir/teacher_topk
  int threads = 1;
  bool quiet = false;
  int64_t stop_after = -1;
};

train::TrainResult distill(const DistillOptions& opt);

// "" when the two tokenizers encode alike (same tokens, merges and special tokens), else
// the first difference, for the error message.
std::string tokenizer_difference(const tokenizer::Tokenizer& a, const tokenizer::Tokenizer& b);

}  // namespace slm::distill
