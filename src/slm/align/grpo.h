#pragma once
// GRPO, Group Relative Policy Optimization (DeepSeekMath, Shao et al. 2024; DeepSeek-R1):
// reinforcement learning without a value network. Each step samples a group of G
// completions for each request from the policy (the batched KV-cache engine), scores them
// with the rule rewards (rewards.h), and gives every completion its advantage within the
// group, (r - mean) / std, so the model learns which of its own attempts did better. The
// loss is PPO's clipped policy ratio plus a KL penalty (k3) to the frozen starting model
// (policy_loss.h). It runs in the shared training loop (train/loop.h): checkpoints, exact
// resume, Ctrl-C, metrics.jsonl (reward by rule, KL, lengths) and the curves.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "slm/align/policy_loss.h"
#include "slm/align/pretrain_mix.h"
#include "slm/align/rewards.h"
#include "slm/align/run.h"
#include "slm/tokenizer/bpe.h"
#include "slm/train/loop.h"

namespace slm::align {

struct GrpoSettings {
  int group = 8;               // G: completions a request
  int max_tokens = 256;        // a completion's length at most
  float temperature = 1.0f;    // sampling the group (top-k 0: the whole vocabulary)
  int top_k = 0;
  double clip_eps = 0.2;       // PPO's clip range
  double beta = 0.04;          // the KL penalty's weight (DeepSeekMath's value)
  int updates_per_batch = 1;   // mu: optimizer steps on each batch of completions
  RewardScale scale = RewardScale::group;  // what divides r - mean (policy_loss.h)
  // DAPO's dynamic sampling (Yu et al. 2025): a group whose rewards' std is at most
  // filter_std teaches (almost) nothing, so it is set aside and more requests are drawn in
  // its place, at most max_rounds rounds of batch_size requests a batch; if too few groups
  // pass, the most varied of those set aside fill the batch. Off when filter_std < 0.
  double filter_std = -1;
  int max_rounds = 4;
  // The filter's std is that of the first of these rules that applies to the request
  // (e.g. {"words", "answer"}: keep the writing groups where some completions used more of
  // the words than others, and the question groups where some answered), else of the
  // total reward. Empty: the total.
  std::vector<std::string> filter_rules;
  // Per-token credit for the required words (0: off): each token of a completion's first
  // counted use of a required word w (rewards.h, required_word_uses) gets an advantage of
  // its own beside the completion's, word_credit x (1 - the share of its group that used
  // w), so the reward for copying a word reaches the tokens that copied it rather than
  // 1/200th of it (policy_loss.h, grpo_batch's credit).
  double word_credit = 0;
  // Per-token penalty for flawed words (0: off; flaws.h): each token of a completion that
  // spells a misspelled, doubled or looping word gets -flaw_debit as an advantage of its
  // own, the mirror of word_credit, so the cost of a made-up noun or a loop lands on the
  // tokens that wrote it. Spelled with the Hunspell dictionary in hunspell_dir.
  double flaw_debit = 0;
  std::string hunspell_dir = "/usr/share/hunspell";
  // PPO-ptx's pre-training mix (pretrain_mix.h): each micro-batch also trains on windows
  // of these shards, ptx.coef x their next-token loss (ptx.data empty: off).
  PretrainMixSettings ptx;
  // Plain story beginnings mixed into the requests (rewards.h, kStoryBeginningTask): this
  // share of the requests drawn continue a fresh generated story's first sentence with no
  // template, scored by the story rules, so the model's plain stories are trained too and
  // not only its answers to requests (0: none).
  double story_share = 0;
  int sample_every = 10;       // samples.jsonl gets a group every this many batches (0: never)
};

struct GrpoOptions {
  AlignRun run;                    // run.train.batch_size: requests a micro-batch (each sampled G times)
  std::string prompts;             // `slm data instruct` records (JSONL)
  std::vector<std::string> tasks;  // only these tasks' records (empty: all)
  GrpoSettings grpo;
  RewardConfig rewards;
};

// Records of `slm data instruct`, only those of the given tasks (empty: all); none is an error.
std::vector<stories::InstructRecord> read_requests(const std::string& path, const std::vector<std::string>& tasks);

// The prompt a request is sampled from: Alpaca's template, or a story beginning as it is.
std::string request_prompt(const stories::InstructRecord& r);

// The requests whose prompt leaves at least 16 tokens of the model's context for an answer;
// the others are left out and counted in a note (unless quiet). None fitting is an Error
// naming origin.
std::vector<stories::InstructRecord> requests_that_fit(std::vector<stories::InstructRecord> requests,
                                                       const tokenizer::Tokenizer& tok, int context, bool quiet,
                                                       const std::string& origin);

// Adds story beginnings (kStoryBeginningTask) to requests, so that they are `share` of the
// whole: the first sentences of stories the generator makes from `seed` (not the seeds of
// the evaluation's beginnings).
void add_story_beginnings(std::vector<stories::InstructRecord>& requests, double share, uint64_t seed);

// A sampled completion of a request, as a reward function sees it.
struct Completion {
  const stories::InstructRecord* request = nullptr;
  std::string text;
  std::vector<uint32_t> tokens;  // as drawn (without the end-of-text token)
  bool eot = false;              // ended with the end-of-text token, not at a limit
};
using RewardFn = std::function<std::vector<Reward>(const std::vector<Completion>&)>;

// The rule rewards of a RewardModel as a RewardFn.
RewardFn rule_rewards(const RewardModel& model);

// The algorithm itself, on models already loaded: policy trains (starting from, or
// resumed into, its weights; with lo.adapters, LoRA's adapters), reference stays as it is
// (a model, or the policy with its adapters taken out). lo.out_dir gets samples.jsonl and
// reward.svg beside the loop's files; lo.train.batch_size is requests a micro-batch.
train::TrainResult grpo_train(model::Transformer<float>& policy, const Reference& reference,
                              const tokenizer::Tokenizer& tok, const std::vector<stories::InstructRecord>& requests,
                              const RewardFn& reward, const GrpoSettings& settings, const train::LoopOptions& lo);

AlignResult grpo(const GrpoOptions& opt);

}  // namespace slm::align
