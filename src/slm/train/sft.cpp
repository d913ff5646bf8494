#include "slm/train/sft.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "slm/stories/story_checks.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/model/model_files.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/dist/comm.h"
#include "slm/train/space_sharing.h"
#include "slm/train/train_checkpoint.h"
#include "slm/tokenizer/token_spans.h"
#include "slm/util/rng.h"

namespace slm::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Which of a segment's tokens spell a required word (tokenizer::mark_token_spans): a token
// is key when its bytes overlap a use of a word (so " tumbled" and both halves of
// " type"+"writer" are). Prompts have none.
std::vector<uint8_t> key_tokens(const data::Segment& s, const std::vector<uint32_t>& ids,
                                const std::vector<std::string>& words, const tokenizer::Tokenizer& tok) {
  if (!s.response) return std::vector<uint8_t>(ids.size(), 0);
  const stories::Vocabulary& vocab = stories::Vocabulary::shared();
  std::vector<std::pair<size_t, size_t>> spans;
  for (const auto& w : words)
    for (auto sp : stories::required_word_spans(s.text, w, vocab)) spans.push_back(sp);
  return tokenizer::mark_token_spans(tok, ids, s.text, spans, std::vector<uint8_t>(spans.size(), 1));
}

}  // namespace

int64_t SftExample::counted() const {
  int64_t n = 0;
  for (size_t i = 1; i < trained.size(); ++i) n += trained[i];
  return n;
}

std::vector<SftExample> encode_conversations(const std::vector<data::Conversation>& convs,
                                             const tokenizer::Tokenizer& tok, int context, bool truncate,
                                             SftEncodeStats& stats, bool mark_words) {
  std::vector<SftExample> out;
  std::vector<uint32_t> ids;
  const size_t max_len = size_t(context) + 1;  // inputs are tokens[0..n-2], targets tokens[1..n-1]
  for (const auto& c : convs) {
    SftExample e;
    const bool marking = mark_words && !c.words.empty();
    for (const auto& s : c.segments) {
      ids.clear();
      tok.encode(s.text, ids, /*specials=*/false);  // "<|endoftext|>" typed by a user is text
      for (uint32_t id : ids) e.tokens.push_back(int32_t(id)), e.trained.push_back(s.response);
      if (marking) {
        auto key = key_tokens(s, ids, c.words, tok);
        e.key.insert(e.key.end(), key.begin(), key.end());
      }
    }
    e.tokens.push_back(int32_t(tok.eot()));
    e.trained.push_back(1);
    if (marking) e.key.push_back(0);
    if (e.tokens.size() > max_len) {
      if (stats.first_too_long.empty()) stats.first_too_long = c.where;
      e.tokens.resize(max_len);
      e.trained.resize(max_len);
      if (marking) e.key.resize(max_len);
      if (!truncate || e.counted() == 0) {
        ++stats.too_long;
        continue;
      }
      ++stats.truncated;
    }
    const int64_t resp = e.counted();
    stats.response_tokens += resp;
    for (uint8_t k : e.key) stats.key_tokens += k;
    stats.prompt_tokens += int64_t(e.tokens.size()) - resp;
    out.push_back(std::move(e));
  }
  stats.examples = int64_t(out.size());
  return out;
}

void fill_sft_batch(const std::vector<SftExample>& ex, const std::vector<size_t>& rows, int32_t pad, Batch& b,
                    bool per_example, double key_weight) {
  size_t longest = 2;
  // Weights a target are needed for either: 1/length an example, or a key token's weight.
  const bool weighted = per_example || key_weight != 1.0;
  for (size_t r : rows) longest = std::max(longest, ex[r].tokens.size());
  b.B = int(rows.size());
  b.T = int(longest - 1);
  b.x.assign(size_t(b.B) * b.T, pad);
  b.y.assign(size_t(b.B) * b.T, -1);
  b.w.assign(weighted ? size_t(b.B) * b.T : 0, 0.f);
  b.counted = 0;
  b.weight = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    const SftExample& e = ex[rows[i]];
    // Token t's weight before normalising: key_weight for a required word's token.
    auto token_weight = [&](size_t t) { return !e.key.empty() && e.key[t] ? key_weight : 1.0; };
    // Per example, the response's targets sum to 1 whatever key_weight is: the required
    // words take a larger share of their own example, not of the batch.
    double n = 0;
    for (size_t t = 1; t < e.tokens.size(); ++t)
      if (e.trained[t]) n += token_weight(t);
    const double w = per_example ? (n > 0 ? 1.0 / n : 0.0) : 1.0;
    int32_t* x = b.x.data() + i * size_t(b.T);
    int32_t* y = b.y.data() + i * size_t(b.T);
    for (size_t t = 0; t + 1 < e.tokens.size(); ++t) {
      x[t] = e.tokens[t];
      if (!e.trained[t + 1]) continue;
      y[t] = e.tokens[t + 1];
      ++b.counted;
      if (!weighted) continue;
      const float wt = float(w * token_weight(t + 1));
      b.w[i * size_t(b.T) + t] = wt, b.weight += wt;  // the sum of the weights the loss uses
    }
  }
  if (!weighted) b.weight = double(b.counted);
}

SftBatches::SftBatches(const std::vector<SftExample>& examples, int batch, uint64_t seed, int32_t pad_token,
                       bool per_example, double key_weight)
    : ex_(examples), batch_(batch), seed_(seed), pad_(pad_token), per_example_(per_example), key_weight_(key_weight) {
  if (ex_.empty()) throw Error("no examples to fine-tune on", "data");
  if (batch_ < 1) throw Error("the batch size must be at least 1", "train.batch_size");
  plan_epoch();
}

void SftBatches::plan_epoch() {
  // Shuffle, then sort runs of 16 batches by length (little padding, still random),
  // then shuffle the batches. A short last batch wraps around to the first examples.
  std::vector<size_t> idx(ex_.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  Rng rng(hash64("sft", seed_ * 1000003 + epoch_));
  rng.shuffle(idx);
  const size_t B = size_t(batch_), run = B * 16;
  for (size_t s = 0; s < idx.size(); s += run) {
    auto e = idx.begin() + long(std::min(idx.size(), s + run));
    std::stable_sort(idx.begin() + long(s), e,
                     [&](size_t a, size_t b) { return ex_[a].tokens.size() < ex_[b].tokens.size(); });
  }
  order_.clear();
  for (size_t s = 0; s < idx.size(); s += B) {
    std::vector<size_t> rows;
    for (size_t k = 0; k < B; ++k) rows.push_back(idx[(s + k) % idx.size()]);
    order_.push_back(std::move(rows));
  }
  rng.shuffle(order_);
}

void SftBatches::set_world(int rank, int world, int accum) {
  if (world < 1 || rank < 0 || rank >= world || accum < 1) throw Error("bad data-parallel layout", "rank");
  if (order_.size() < size_t(world) * size_t(accum))
    throw Error("too few examples for one step: " + std::to_string(order_.size()) + " batches an epoch, " +
                    std::to_string(world) + " rank(s) x " + std::to_string(accum) + " batch(es) per step",
                "data");
  rank_ = rank, world_ = world, accum_ = accum, micro_ = 0;
}

void SftBatches::next(Batch& b) {
  const uint64_t per_step = uint64_t(world_) * uint64_t(accum_);
  if (micro_ == 0) {
    // A step does not straddle epochs (one rank: a step of one batch, so none is skipped).
    if (position_ + per_step > order_.size()) {
      ++epoch_;
      position_ = 0;
      plan_epoch();
    }
    step_start_ = position_;
    position_ += per_step;
  }
  const uint64_t slot = uint64_t(rank_) * uint64_t(accum_) + uint64_t(micro_);
  micro_ = (micro_ + 1) % accum_;
  fill_sft_batch(ex_, order_[step_start_ + slot], pad_, b, per_example_, key_weight_);
}

json SftBatches::state() const { return {{"epoch", epoch_}, {"position", position_}}; }

void SftBatches::restore(const json& s) {
  try {
    epoch_ = s.at("epoch").get<uint64_t>();
    position_ = s.at("position").get<uint64_t>();
  } catch (const json::exception& e) {
    throw Error(std::string("bad batch state in the checkpoint: ") + e.what(), "trainer_state.json");
  }
  plan_epoch();
  micro_ = 0;
}

double sft_loss(model::Transformer<float>& m, const std::vector<SftExample>& ex, int batch, int32_t pad) {
  double total = 0;
  int64_t counted = 0;
  Batch b;
  for (size_t s = 0; s < ex.size(); s += size_t(batch)) {
    std::vector<size_t> rows;
    for (size_t i = s; i < std::min(ex.size(), s + size_t(batch)); ++i) rows.push_back(i);
    fill_sft_batch(ex, rows, pad, b);
    if (b.counted == 0) continue;
    total += m.loss(b.x.data(), b.y.data(), b.B, b.T) * double(b.counted);
    counted += b.counted;
  }
  return counted ? total / double(counted) : 0.0;
}

namespace {

void report_encoding(const SftEncodeStats& st, const std::string& what, int context, bool truncate, bool quiet) {
  if (st.too_long || st.truncated)
    // Said even when quiet: data that does not fit is never dropped silently.
    fmt::print(stderr, "slm: note: {}: {} record(s) longer than the context ({} tokens) {}{} (first: {})\n", what,
               st.too_long + st.truncated, context, truncate ? "truncated" : "skipped",
               truncate && st.too_long ? fmt::format(", {} skipped with no response token left", st.too_long) : "",
               st.first_too_long);
  if (!quiet)
    fmt::print(stderr, "{}: {} examples, {} prompt tokens (masked) and {} response tokens (trained on)\n", what,
               st.examples, st.prompt_tokens, st.response_tokens);
}

}  // namespace

json training_memory(const model::Transformer<float>& m, const LoraTrainable* lora) {
  const int64_t P = m.num_params(), F = int64_t(sizeof(float));
  const int64_t trained = lora ? lora->size() : P;
  int64_t frozen_copy = 0;  // LoRA keeps W0 of each adapted weight, to merge the adapters into
  if (lora)
    for (const auto& t : lora->targets()) frozen_copy += int64_t(t.in) * t.out;
  const int64_t weights = (P + (lora ? trained + frozen_copy : 0)) * F;
  return {{"weights", weights},
          {"trainable_params", trained},
          {"grads", trained * F},
          {"optimizer", 2 * trained * F},
          {"total", weights + 3 * trained * F}};
}

TrainResult finetune(const FinetuneOptions& opt) {
  omp_set_num_threads(std::max(1, opt.threads));
  std::string tok_path = (fs::path(opt.base) / "tokenizer.json").string();
  if (fs::is_directory(opt.base) && !fs::exists(tok_path))
    throw Error("the base model has no tokenizer.json (fine-tuning needs the tokenizer it was trained with)", opt.base);
  auto loaded = model::load_model_and_tokenizer(opt.base);  // a folder or a .gguf
  auto& model = loaded.model;
  const tokenizer::Tokenizer& tok = *loaded.tok;
  const model::ModelConfig& mc = model->config();
  if (int64_t(tok.vocab_size()) > mc.vocab_size)
    throw Error(fmt::format("the tokenizer has {} tokens but the model's vocabulary is {}", tok.vocab_size(), mc.vocab_size),
                fs::is_directory(opt.base) ? tok_path : opt.base);

  refuse_space_sharing_with_adapters(opt.train.share_space_embeddings, opt.lora.rank > 0);  // before the data is read
  auto convs = data::read_sft_file(opt.data);
  std::vector<data::Conversation> val_convs;
  if (!opt.val.empty()) {
    val_convs = data::read_sft_file(opt.val);
  } else if (opt.val_fraction > 0 && convs.size() >= 50) {
    // A share of the data by content hash, so the split does not depend on the order.
    std::vector<data::Conversation> train;
    for (auto& c : convs) {
      bool val = held_out(c.segments[0].text + c.segments.back().text, opt.val_fraction, 0x5f7);
      (val ? val_convs : train).push_back(std::move(c));
    }
    convs = std::move(train);
  }
  SftEncodeStats st, vst;
  if (opt.words_weight <= 0) throw Error("must be positive (1: the required words weigh as any token)", "--words-weight");
  const bool mark = opt.words_weight != 1.0;
  auto examples = encode_conversations(convs, tok, mc.context, opt.truncate, st, mark);
  auto val = encode_conversations(val_convs, tok, mc.context, opt.truncate, vst);
  report_encoding(st, "train", mc.context, opt.truncate, opt.quiet);
  if (!val_convs.empty()) report_encoding(vst, "validation", mc.context, opt.truncate, opt.quiet);
  if (examples.empty()) throw Error("no example fits the model's context of " + std::to_string(mc.context) + " tokens", opt.data);

  TrainConfig tc = opt.train;
  const int32_t pad = int32_t(tok.eot());
  if (mark && !opt.quiet)
    fmt::print(stderr, "--words-weight {}: {} response tokens spell a required word ({:.2f}% of them)\n",
               opt.words_weight, st.key_tokens, 100.0 * double(st.key_tokens) / double(std::max<int64_t>(1, st.response_tokens)));
  if (mark && st.key_tokens == 0)
    throw Error("--words-weight: no record has required words (\"words\") used in its output", opt.data);
  SftBatches batches(examples, tc.batch_size, tc.seed, pad, opt.per_example_loss, opt.words_weight);
  const int world = dist::world_size();
  keep_global_batch(tc, opt.resume, world, opt.quiet);
  batches.set_world(dist::rank(), world, tc.grad_accum);
  const int64_t per_step = int64_t(tc.grad_accum) * world;  // batches a step, all ranks together
  if (opt.epochs > 0)
    tc.max_steps = std::max<int64_t>(1, int64_t(std::ceil(opt.epochs * double(batches.batches_per_epoch()) / double(per_step))));
  if (!opt.quiet && dist::is_root())
    fmt::print(stderr, "fine-tuning {} ({:.2f}M parameters) for {} steps of {} examples ({:.2f} epochs)\n", opt.base,
               double(model->num_params()) / 1e6, tc.max_steps, tc.batch_size * per_step,
               double(tc.max_steps * per_step) / double(batches.batches_per_epoch()));

  if (!fs::is_directory(opt.base) && dist::is_root()) {  // the checkpoints need the tokenizer as a file
    fs::create_directories(opt.out_dir);  // only now that the data has been read and checked
    tok_path = (fs::path(opt.out_dir) / "base_tokenizer.json").string();
    write_file_atomic(tok_path, tok.to_json());
  }
  // LoRA: the model is frozen and hooked; the adapters start as B = 0 (the base exactly).
  std::unique_ptr<LoraTrainable> lora;
  if (opt.lora.rank > 0) {
    LoraConfig lc = opt.lora;
    lc.base = opt.base;
    lora = std::make_unique<LoraTrainable>(*model, lc, tc.seed);
  }
  const json memory = training_memory(*model, lora.get());
  if (!opt.quiet)
    fmt::print(stderr, "training {} of {} parameters{}; weights, gradients and AdamW state: {:.1f} MB\n",
               memory["trainable_params"].get<int64_t>(), model->num_params(),
               lora ? fmt::format(" (LoRA r={} alpha={} on {})", opt.lora.rank, opt.lora.alpha,
                                  fmt::join(opt.lora.targets, ","))
                    : "",
               double(memory["total"].get<int64_t>()) / 1e6);
  LoopOptions lo;
  lo.adapters = lora.get();
  lo.train = tc;
  lo.out_dir = opt.out_dir;
  lo.resume = opt.resume;
  lo.tokenizer_json = tok_path;
  lo.data_desc = opt.data;
  lo.label = "finetune";
  lo.run_info = {{"base", opt.base}, {"objective", "sft"}, {"template", "alpaca"}, {"examples", st.examples},
                 {"loss", opt.per_example_loss ? "mean over examples" : "mean over response tokens"}};
  if (mark) lo.run_info["words_weight"] = opt.words_weight, lo.run_info["key_tokens"] = st.key_tokens;
  lo.run_info["memory_bytes"] = memory;
  if (lora) lo.run_info["lora"] = lora->lora().config().to_peft_json();
  if (opt.run_info.is_object()) lo.run_info.update(opt.run_info);
  lo.forward_backward = opt.forward_backward;
  lo.quiet = opt.quiet;
  lo.stop_after = opt.stop_after;
  lo.add_files = [](const std::string& dir) { tokenizer::write_template_file(dir); };
  if (!val.empty()) {
    const int vb = tc.batch_size;
    const size_t cap = size_t(std::max<int64_t>(1, tc.eval_batches)) * size_t(vb);
    if (val.size() > cap) val.resize(cap);
    lo.validate = [&val, vb, pad](model::Transformer<float>& m) { return sft_loss(m, val, vb, pad); };
  }
  return run_training(*model, batches, lo);
}

}  // namespace slm::train
