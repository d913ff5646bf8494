#pragma once
// Instruction tuning (supervised fine-tuning) as Stanford Alpaca does it: each example
// is the templated prompt followed by the response and the end-of-text token, and the
// loss counts the response tokens only (prompt and padding targets are -1). Examples of
// similar length are batched together and padded to the longest, each row starting at
// position 0, so no example attends to another.
#include <cstdint>
#include <string>
#include <vector>

#include "slm/data/sft_records.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/lora.h"
#include "slm/train/loop.h"

namespace slm::train {

struct SftExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> trained;  // trained[i]: token i is a response token, predicted and counted
  std::vector<uint8_t> key;      // key[i]: token i spells one of the record's required words (empty: none)
  int64_t counted() const;
};

struct SftEncodeStats {
  int64_t examples = 0, too_long = 0, truncated = 0, prompt_tokens = 0, response_tokens = 0;
  int64_t key_tokens = 0;  // response tokens that spell a required word (mark_words)
  std::string first_too_long;  // where the first over-long record is, for the message
};

// Tokenizes conversations (each segment on its own, as generation will see the prompt),
// appending end-of-text after the last response. Longer than context + 1 tokens: cut to
// fit when truncate is set and a response token is left, otherwise skipped; both counted.
// mark_words: SftExample::key marks the response tokens that spell the record's required
// words (Conversation::words, in any inflection: stories::required_word_spans).
std::vector<SftExample> encode_conversations(const std::vector<data::Conversation>& convs,
                                             const tokenizer::Tokenizer& tok, int context, bool truncate,
                                             SftEncodeStats& stats, bool mark_words = false);

// Batches of examples, shuffled each epoch (seeded) and grouped by length so padding is
// small; resumable from (epoch, position).
class SftBatches : public BatchSource {
 public:
  // per_example: every example's response weighs the same (its tokens 1/length each);
  // otherwise every response token does (Alpaca's loss).
  // key_weight: the loss on SftExample::key tokens counts that many times another token of
  // the same response (1: as any other); per example, a response still weighs 1 in all.
  SftBatches(const std::vector<SftExample>& examples, int batch, uint64_t seed, int32_t pad_token, bool per_example,
             double key_weight = 1.0);
  void next(Batch& b) override;
  nlohmann::json state() const override;
  void restore(const nlohmann::json& s) override;
  size_t batches_per_epoch() const { return order_.size(); }
  // Data parallel: rank `rank` of `world`, taking `accum` batches a step. A step takes the
  // next world x accum batches of the epoch's order; this rank's k-th is number
  // rank x accum + k (so the ranks' batches are disjoint and a resume at another world
  // size with the same world x accum continues where it was).
  void set_world(int rank, int world, int accum);

 private:
  void plan_epoch();
  const std::vector<SftExample>& ex_;
  int batch_;
  uint64_t seed_;
  int32_t pad_;
  bool per_example_;
  double key_weight_;
  uint64_t epoch_ = 0, position_ = 0;  // position: batches of the epoch taken by the whole world
  int rank_ = 0, world_ = 1, accum_ = 1, micro_ = 0;
  uint64_t step_start_ = 0;
  std::vector<std::vector<size_t>> order_;  // this epoch's batches
};

// Fills a batch with the given examples (padding to the longest).
void fill_sft_batch(const std::vector<SftExample>& ex, const std::vector<size_t>& rows, int32_t pad, Batch& b,
                    bool per_example = false, double key_weight = 1.0);

// The mean loss over the response tokens of all examples.
double sft_loss(model::Transformer<float>& m, const std::vector<SftExample>& ex, int batch, int32_t pad);

struct FinetuneOptions {
  std::string base;      // a model folder with tokenizer.json
  std::string data;      // .json or .jsonl records
  std::string val;       // held-out records for the validation loss, or empty: a share of data
  double val_fraction = 0.02;
  std::string out_dir;
  std::string resume;
  TrainConfig train;
  double epochs = 0;     // > 0: max_steps from the number of examples
  bool truncate = false;
  bool per_example_loss = true;  // false: Alpaca's mean over all response tokens
  // > 1: the loss on the tokens of a writing request's required words (the records'
  // "words") counts this many times another token of its response (each example still
  // weighs the same): the signal to copy them from the prompt, otherwise about 4% of a
  // story's tokens. 1: off.
  double words_weight = 1.0;
  int threads = 1;
  bool quiet = false;
  int64_t stop_after = -1;
  // A micro-batch's loss when it is not the labels' cross-entropy (distillation: see
  // LoopOptions::forward_backward); empty: cross-entropy. And more fields for run.json.
  std::function<double(model::Transformer<float>&, const Batch&, double grad_scale)> forward_backward;
  nlohmann::json run_info;
  // LoRA (lora.h): rank > 0 trains low-rank adapters with the base frozen; the run's
  // checkpoints and model/ folder then hold the adapters (PEFT's layout), not a model.
  LoraConfig lora = LoraConfig::none();
};

// Bytes of what training keeps besides activations: weights, gradients, AdamW's two
// moments and (LoRA) the frozen copy of the adapted weights; for run.json and the bench.
nlohmann::json training_memory(const model::Transformer<float>& m, const LoraTrainable* lora);

TrainResult finetune(const FinetuneOptions& opt);

}  // namespace slm::train
