#include "slm/align/grpo.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "slm/align/before_after.h"
#include "slm/align/flaws.h"
#include "slm/align/run.h"
#include "slm/align/policy_loss.h"
#include "slm/eval/instruct_eval.h"
#include "slm/eval/story_eval.h"
#include "slm/infer/generate.h"
#include "slm/model/model_files.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/tokenizer/token_spans.h"
#include "slm/util/error.h"
#include "slm/util/rng.h"

namespace slm::align {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// One batch of sampled completions, as the loss needs it: rows [B, T] of prompt +
// completion (targets -1 on the prompt and the padding), each row's advantage, and the
// log-probabilities of its tokens under the policy that sampled it and the reference.
struct Rollout {
  int B = 0, T = 0;
  std::vector<int32_t> x, y;
  std::vector<double> adv, logp_old, logp_ref;
  std::vector<float> credit;  // a token's own advantage (--word-credit, --flaw-debit; empty: none)
  json metrics;  // the rewards and lengths of these completions

  json to_json() const {
    return {{"B", B}, {"T", T}, {"x", x}, {"y", y}, {"adv", adv}, {"logp_old", logp_old},
            {"logp_ref", logp_ref}, {"credit", credit}, {"metrics", metrics}};
  }
  static Rollout from_json(const json& j) {
    Rollout r;
    r.B = j.at("B"), r.T = j.at("T");
    j.at("x").get_to(r.x), j.at("y").get_to(r.y), j.at("adv").get_to(r.adv);
    j.at("logp_old").get_to(r.logp_old), j.at("logp_ref").get_to(r.logp_ref);
    if (j.contains("credit")) j.at("credit").get_to(r.credit);
    r.metrics = j.at("metrics");
    return r;
  }
};

// The GRPO objective as a batch source for the training loop: each micro-batch is a
// group-sampled rollout (reused for updates_per_batch steps); forward_backward() takes the
// policy's log-probabilities from the training forward itself and hands the backward pass
// the GRPO loss's derivative by each of them (policy_loss.h).
class GrpoSource : public train::BatchSource {
 public:
  GrpoSource(model::Transformer<float>& policy, const Reference& ref, const tokenizer::Tokenizer& tok,
             const std::vector<stories::InstructRecord>& records, const RewardFn& rewards, const GrpoSettings& s,
             int prompts_per_batch, int grad_accum, uint64_t seed, std::string samples_path, PretrainMix* mix)
      : pol_(policy), ref_(ref), tok_(tok), recs_(records), rewards_(rewards), s_(s), P_(prompts_per_batch),
        seed_(seed), samples_path_(std::move(samples_path)), order_(records.size(), seed), slots_(size_t(grad_accum)),
        mix_(mix), mix_windows_(size_t(grad_accum)) {
    if (s_.flaw_debit > 0) flaws_ = std::make_unique<FlawFinder>(s_.hunspell_dir);
  }

  void next(train::Batch& b) override {
    Rollout& r = slots_[slot_];
    if (inner_ == 0) r = sample();
    b.x = r.x, b.y = r.y, b.w.clear();
    b.B = r.B, b.T = r.T;
    b.counted = std::count_if(r.y.begin(), r.y.end(), [](int32_t t) { return t >= 0; });
    b.weight = r.B;  // the loss is a mean over rows
    b.row_ids.assign(size_t(r.B), int64_t(slot_));  // each row's rollout, for forward_backward
    if (mix_) mix_->draw(mix_windows_[slot_]);
    // The figures of this step, summed over its micro-batches.
    ++acc_n_;
    for (const auto& [k, v] : r.metrics.items()) acc_metrics_[k] = acc_metrics_.value(k, 0.0) + v.get<double>();
    if (++slot_ == slots_.size()) slot_ = 0, inner_ = (inner_ + 1) % std::max(1, s_.updates_per_batch);
  }

  // The micro-batch's mean loss over its rows; the gradient of their summed loss times
  // grad_scale (1 / rows in the step) is added into the trained weights. At a batch's
  // first update the policy is the one that sampled (ratio 1, but for LoRA's dropout).
  double forward_backward(model::Transformer<float>& m, const train::Batch& b, double grad_scale) {
    const Rollout& r = slots_.at(size_t(b.row_ids.at(0)));
    const int V = m.config().vocab_size, N = b.B * b.T;
    auto head = [&](float* logits) {
      std::vector<double> logp;
      logprobs_of_logits(logits, r.y.data(), N, V, logp);
      GrpoBatchTerms t = grpo_batch(logp, r.logp_old, r.logp_ref, r.adv, r.y.data(), r.B, r.T, s_.clip_eps, s_.beta,
                                    r.credit.empty() ? nullptr : r.credit.data());
      acc_loss_ += t.loss, acc_kl_ += t.kl, acc_clip_ += t.clip_fraction;
      // The backward pass of weighted cross-entropy would take -weight per log p.
      std::vector<double> dlogp(static_cast<size_t>(N));
      for (int i = 0; i < N; ++i) dlogp[size_t(i)] = -double(t.weights[size_t(i)]) * grad_scale;
      logits_grad_of_dlogp(logits, r.y.data(), dlogp, N, V);
      return t.loss;
    };
    const double loss = m.forward_backward_logits(b.x.data(), b.B, b.T, head, grad_scale);
    // The pre-training mix's share of the step is this micro-batch's share of its rows.
    if (mix_) {
      acc_ptx_ += mix_->forward_backward(m, mix_windows_.at(size_t(b.row_ids.at(0))), b.weight * grad_scale, ref_);
      ++acc_ptx_n_;
    }
    return loss;
  }

  json step_metrics() override {
    json m = {{"loss", acc_loss_ / acc_n_}, {"kl", acc_kl_ / acc_n_}, {"clip_fraction", acc_clip_ / acc_n_}};
    for (const auto& [k, v] : acc_metrics_.items()) m[k] = v.get<double>() / acc_n_;
    m["note"] = fmt::format("reward {:.3f} | kl {:.4f}", m.value("reward", 0.0), m["kl"].get<double>());
    if (mix_) {
      m["ptx_loss"] = acc_ptx_ / std::max(1, acc_ptx_n_);
      const double ptx = m["ptx_loss"].get<double>();  // a KL is smaller than a loss: more digits
      const std::string ptx_note = mix_->kl() ? fmt::format(" | ptx kl {:.4f}", ptx) : fmt::format(" | ptx {:.3f}", ptx);
      m["note"] = m["note"].get<std::string>() + ptx_note;
    }
    acc_loss_ = acc_kl_ = acc_clip_ = acc_ptx_ = 0, acc_n_ = acc_ptx_n_ = 0, acc_metrics_ = json::object();
    return m;
  }

  json state() const override {
    json s = {{"order", order_.state()}, {"draws", draws_}, {"batches", batches_}, {"inner", inner_}, {"slot", slot_}};
    if (mix_) s["ptx"] = mix_->state();
    s["word_credit"] = s_.word_credit, s["flaw_debit"] = s_.flaw_debit;
    if (inner_ != 0) {  // mid-way through a batch's updates: its completions are needed again
      json rs = json::array();
      for (const auto& r : slots_) rs.push_back(r.to_json());
      s["rollouts"] = rs;
    }
    return s;
  }

  void restore(const json& s) override {
    order_.restore(s.at("order"));
    draws_ = s.at("draws"), inner_ = s.at("inner"), slot_ = s.at("slot");
    batches_ = s.value("batches", draws_);  // a checkpoint from before dynamic sampling: one round a batch
    if (mix_) {
      if (!s.contains("ptx")) throw Error("the checkpoint was made without --ptx-data: resume it without", "--ptx-data");
      mix_->restore(s.at("ptx"));
    } else if (s.contains("ptx")) {
      throw Error("the checkpoint was made with --ptx-data: resume it with the same", "--ptx-data");
    }
    // Another credit or debit would be another objective half-way through. A checkpoint from
    // before these were saved had no debit, and may have had any credit (not checked).
    if (s.value("flaw_debit", 0.0) != s_.flaw_debit)
      throw Error(fmt::format("the checkpoint was made with --flaw-debit {}: resume with that", s.value("flaw_debit", 0.0)),
                  "--flaw-debit");
    if (s.contains("word_credit") && s.at("word_credit").get<double>() != s_.word_credit)
      throw Error(fmt::format("the checkpoint was made with --word-credit {}: resume with that",
                              s.at("word_credit").get<double>()), "--word-credit");
    if (inner_ != 0)
      for (size_t i = 0; i < slots_.size(); ++i) slots_[i] = Rollout::from_json(s.at("rollouts").at(i));
  }

 private:
  const stories::InstructRecord& next_record() { return recs_[order_.next()]; }

  // One request's G completions, scored.
  struct Group {
    const stories::InstructRecord* request = nullptr;
    std::vector<uint32_t> prompt_ids;
    std::vector<infer::GenerateResult> outs;
    std::vector<Reward> rewards;
    double filter_std = 0;  // what dynamic sampling compares (filter_std_of)
  };

  // A batch's draw: every group sampled (the reward curve is the policy's, unfiltered), the
  // P of them the batch trains on, how many passed the filter, and the rounds it took.
  struct Draw {
    std::vector<Group> sampled;
    std::vector<size_t> chosen;
    int passed = 0, rounds = 0;
  };

  // G completions of each of P requests from the policy, scored: one round of sampling.
  std::vector<Group> draw_round() {
    std::vector<const stories::InstructRecord*> reqs;
    std::vector<std::string> prompts;
    std::vector<std::vector<uint32_t>> ids;
    for (int p = 0; p < P_; ++p) {
      const stories::InstructRecord* r = &next_record();
      reqs.push_back(r), prompts.push_back(request_prompt(*r)), ids.push_back(tok_.encode(prompts.back()));
    }
    std::vector<std::string> repeated;
    for (const auto& t : prompts) repeated.insert(repeated.end(), size_t(s_.group), t);
    infer::GenerateOptions go;
    go.max_tokens = s_.max_tokens;
    go.sampling.temperature = s_.temperature;
    go.sampling.top_k = s_.top_k;
    uint64_t z = seed_ ^ (0x9E3779B97F4A7C15ull * (draws_ + 1));
    go.seed = splitmix64(z);  // each round its own draws, the same on a resumed run
    ++draws_;
    auto outs = infer::generate_batch(pol_, tok_, repeated, go);

    std::vector<Completion> done;
    for (size_t i = 0; i < outs.size(); ++i)
      done.push_back({reqs[i / size_t(s_.group)], outs[i].text, outs[i].tokens, outs[i].finish == "eot"});
    std::vector<Reward> rw = rewards_(done);
    if (rw.size() != done.size()) throw Error("the reward function scored a different number of completions", "grpo");
    std::vector<Group> groups(static_cast<size_t>(P_));
    for (int p = 0; p < P_; ++p) {
      Group& g = groups[size_t(p)];
      g.request = reqs[size_t(p)], g.prompt_ids = ids[size_t(p)];
      const auto b = size_t(p) * size_t(s_.group), e = b + size_t(s_.group);
      g.outs.assign(outs.begin() + long(b), outs.begin() + long(e));
      g.rewards.assign(rw.begin() + long(b), rw.begin() + long(e));
      g.filter_std = filter_std_of(g.rewards);
    }
    return groups;
  }

  // What the dynamic-sampling filter compares: the std of the scores of the first filter
  // rule that applies to the request (it scored every completion), else of the totals.
  double filter_std_of(const std::vector<Reward>& rw) const {
    std::vector<double> v;
    for (const auto& rule : s_.filter_rules) {
      v.clear();
      for (const auto& x : rw)
        if (auto it = x.rules.find(rule); it != x.rules.end()) v.push_back(it->second);
      if (v.size() == rw.size()) return reward_std(v, 0, int(v.size()));
    }
    v.clear();
    for (const auto& x : rw) v.push_back(x.total);
    return reward_std(v, 0, int(v.size()));
  }

  // The P groups a batch trains on: one round, or with dynamic sampling the groups that
  // pass the filter from up to max_rounds rounds, topped up with the most varied of the rest.
  Draw draw_batch() {
    const bool filter = s_.filter_std >= 0;
    Draw d;
    std::vector<size_t> set_aside;
    do {
      for (auto& g : draw_round()) {
        const bool pass = !filter || g.filter_std > s_.filter_std;
        d.passed += pass;
        (pass ? d.chosen : set_aside).push_back(d.sampled.size());
        d.sampled.push_back(std::move(g));
      }
      ++d.rounds;
    } while (filter && int(d.chosen.size()) < P_ && d.rounds < s_.max_rounds);
    d.chosen.resize(std::min(d.chosen.size(), size_t(P_)));
    std::stable_sort(set_aside.begin(), set_aside.end(),
                     [&](size_t a, size_t b) { return d.sampled[a].filter_std > d.sampled[b].filter_std; });
    for (size_t i = 0; int(d.chosen.size()) < P_; ++i) d.chosen.push_back(set_aside[i]);
    return d;
  }

  // A batch: its groups, their advantages, and the rows the loss trains on.
  Rollout sample() {
    const Draw d = draw_batch();
    std::vector<const Group*> groups;
    for (size_t i : d.chosen) groups.push_back(&d.sampled[i]);
    std::vector<double> totals;
    for (const Group* g : groups)
      for (const auto& x : g->rewards) totals.push_back(x.total);

    Rollout r;
    r.adv = group_advantages(totals, s_.group, s_.scale);
    std::vector<std::vector<uint32_t>> seqs;
    std::vector<size_t> starts;  // each row's first target that is a completion token
    std::vector<std::vector<uint8_t>> credited;  // each row's completion tokens that copied a required word
    std::vector<std::vector<uint8_t>> debited;   // each row's completion tokens that spell a flaw
    std::map<std::string, double> flaws;          // flawed words of the batch, by kind
    for (const Group* g : groups) {
      std::set<std::string> asked;  // the request's words, never a flaw (--flaw-debit)
      if (flaws_) asked = flaws_->request_words(g->request->instruction + "\n" + g->request->input);
      for (const auto& out : g->outs) {
        if (s_.word_credit > 0) credited.push_back(word_tokens(*g->request, out));
        if (flaws_) debited.push_back(flaw_tokens(asked, out, flaws));
        std::vector<uint32_t> s = g->prompt_ids;
        s.insert(s.end(), out.tokens.begin(), out.tokens.end());
        if (out.finish == "eot") s.push_back(tok_.eot());  // stopping is a choice the policy made too
        r.T = std::max(r.T, int(s.size()) - 1);
        starts.push_back(g->prompt_ids.size() - 1);
        seqs.push_back(std::move(s));
      }
    }
    r.B = int(seqs.size());
    r.x.assign(size_t(r.B) * r.T, int32_t(tok_.eot()));
    r.y.assign(size_t(r.B) * r.T, -1);
    for (int b = 0; b < r.B; ++b) {
      const auto& s = seqs[size_t(b)];
      for (size_t t = 0; t + 1 < s.size(); ++t) {
        r.x[size_t(b) * r.T + t] = int32_t(s[t]);
        if (t >= starts[size_t(b)]) r.y[size_t(b) * r.T + t] = int32_t(s[t + 1]);
      }
    }
    token_logprobs(pol_, r.x.data(), r.y.data(), r.B, r.T, r.logp_old);
    // The reference runs at the policy's precision (bf16 or fp32, set by the loop), so that
    // KL is exactly zero while the two share weights, as at step 0.
    ref_.logprobs(r.x.data(), r.y.data(), r.B, r.T, pol_.precision(), r.logp_ref);
    r.metrics = summarize(d.sampled);
    if (s_.word_credit > 0 || flaws_) r.credit.assign(r.x.size(), 0.f);
    if (s_.word_credit > 0) add_word_credit(r, starts, credited);
    if (flaws_) add_flaw_debit(r, starts, debited, flaws);
    if (s_.filter_std >= 0) {
      r.metrics["groups_passed"] = double(d.passed) / double(d.sampled.size());
      r.metrics["sample_rounds"] = d.rounds;
    }
    if (s_.sample_every > 0 && batches_ % uint64_t(s_.sample_every) == 0) log_samples(*groups.front(), r.adv, credited, debited);
    ++batches_;
    return r;
  }

  // Which of a completion's tokens spell the first counted use of each required word (the
  // word's index + 1; 0 elsewhere; tokenizer::mark_token_spans).
  std::vector<uint8_t> word_tokens(const stories::InstructRecord& req, const infer::GenerateResult& out) const {
    if (req.words.empty() || req.words.size() > 255 || eval::task_kind(req) != "write")  // where the words rule applies
      return std::vector<uint8_t>(out.tokens.size(), 0);
    std::vector<std::pair<size_t, size_t>> ranges;
    std::vector<uint8_t> labels;
    const auto uses = required_word_uses(out.text, req.words, stories::Vocabulary::shared());
    for (size_t w = 0; w < uses.size(); ++w)
      if (uses[w].used) ranges.emplace_back(uses[w].begin, uses[w].end), labels.push_back(uint8_t(w + 1));
    return tokenizer::mark_token_spans(tok_, out.tokens, out.text, ranges, labels);
  }

  // The credit of each marked token, at its place in the rows (completion token k is the
  // target at starts[b] + k): C (1 - p_w), where p_w is the share of the row's group that
  // used word w. That is the word's own group-relative advantage, 1[used] - p_w, with the
  // successes' part placed on the tokens that earned it: a word every completion of the
  // group used teaches nothing more, a word one in eight used is credited nearly in full.
  void add_word_credit(Rollout& r, const std::vector<size_t>& starts, const std::vector<std::vector<uint8_t>>& marks) const {
    const int G = s_.group;
    double marked = 0;
    for (int g0 = 0; g0 + G <= r.B; g0 += G) {
      std::map<int, int> users;  // word -> completions of the group that used it
      for (int b = g0; b < g0 + G; ++b) {
        std::set<int> used(marks[size_t(b)].begin(), marks[size_t(b)].end());
        for (int w : used)
          if (w) ++users[w];
      }
      for (int b = g0; b < g0 + G; ++b)
        for (size_t k = 0; k < marks[size_t(b)].size(); ++k)
          if (const int w = marks[size_t(b)][k]) {
            r.credit[size_t(b) * r.T + starts[size_t(b)] + k] = float(s_.word_credit * (1.0 - double(users[w]) / G));
            ++marked;
          }
    }
    r.metrics["credited_tokens"] = marked / r.B;
  }

  // Which of a completion's tokens spell a flawed word (flaws.h; 1 on them, 0 elsewhere),
  // counting the flawed words by kind into `kinds`. The request's own words (asked,
  // FlawFinder::request_words) are not flaws.
  std::vector<uint8_t> flaw_tokens(const std::set<std::string>& asked, const infer::GenerateResult& out,
                                   std::map<std::string, double>& kinds) const {
    std::vector<std::pair<size_t, size_t>> ranges;
    for (const Flaw& f : flaws_->find(out.text, asked)) {
      // A word cut off by the token limit (" butterf") is the start of a real word.
      if (out.finish != "eot" && f.end == out.text.size() && std::string_view(f.kind) == "misspelled") continue;
      ranges.emplace_back(f.begin, f.end), kinds[f.kind] += 1;
    }
    // Not the lone space before a word: with --space-merges it also begins every rarer
    // word, the required ones the word credit pays for included.
    return tokenizer::mark_token_spans(tok_, out.tokens, out.text, ranges, std::vector<uint8_t>(ranges.size(), 1),
                                       /*opening_space=*/false);
  }

  // Each marked token's own advantage is -flaw_debit. Unlike the word credit there is no
  // group baseline: a token-level penalty (0 for every other token) that lowers the
  // probability of the tokens that wrote a flaw where they wrote it, whatever the rest of
  // the group did (a local surrogate: a flaw also depends on the tokens around it).
  void add_flaw_debit(Rollout& r, const std::vector<size_t>& starts, const std::vector<std::vector<uint8_t>>& marks,
                      const std::map<std::string, double>& kinds) const {
    double marked = 0;
    for (int b = 0; b < r.B; ++b)
      for (size_t k = 0; k < marks[size_t(b)].size(); ++k)
        if (marks[size_t(b)][k]) {
          r.credit[size_t(b) * r.T + starts[size_t(b)] + k] -= float(s_.flaw_debit);
          ++marked;
        }
    r.metrics["debited_tokens"] = marked / r.B;
    for (const char* kind : {"misspelled", "doubled", "loop"}) {
      auto it = kinds.find(kind);
      r.metrics[std::string("flaws.") + kind] = (it == kinds.end() ? 0.0 : it->second) / r.B;
    }
  }

  static json summarize(const std::vector<Group>& groups) {
    json m = json::object();
    double total = 0, sq = 0, len = 0, eots = 0, n = 0;
    std::map<std::string, std::pair<double, int>> rules;
    for (const auto& g : groups)
      for (size_t i = 0; i < g.rewards.size(); ++i) {
        const Reward& rw = g.rewards[i];
        total += rw.total, sq += rw.total * rw.total, n += 1;
        len += g.outs[i].generated_tokens, eots += g.outs[i].finish == "eot";
        for (const auto& [k, v] : rw.rules) rules[k].first += v, rules[k].second++;
      }
    m["reward"] = total / n;
    m["reward_std"] = std::sqrt(std::max(0.0, sq / n - (total / n) * (total / n)));
    m["completion_tokens"] = len / n;
    m["eot_share"] = eots / n;
    for (const auto& [k, v] : rules) m["reward." + k] = v.first / v.second;
    return m;
  }

  // The batch's first group, every completion with its rewards: what the reward is
  // paying for, to read (reward hacking shows here first).
  // marks, debits: the rows' --word-credit and --flaw-debit marks (word_tokens, flaw_tokens;
  // empty when off), the group's first.
  void log_samples(const Group& g, const std::vector<double>& adv, const std::vector<std::vector<uint8_t>>& marks,
                   const std::vector<std::vector<uint8_t>>& debits) const {
    if (samples_path_.empty()) return;
    std::ofstream out(samples_path_, std::ios::app);
    for (int i = 0; i < s_.group; ++i) {
      json j = {{"batch", batches_ + 1}, {"task", g.request->task}, {"instruction", g.request->instruction},
                {"completion", g.outs[size_t(i)].text}, {"reward", g.rewards[size_t(i)].total},
                {"rules", g.rewards[size_t(i)].rules}, {"advantage", adv[size_t(i)]}};
      if (!marks.empty()) {  // the tokens --word-credit paid, as text
        std::vector<std::string> paid;
        for (size_t k = 0; k < marks[size_t(i)].size(); ++k)
          if (marks[size_t(i)][k]) paid.push_back(tok_.decode({g.outs[size_t(i)].tokens[k]}));
        j["credited"] = paid;
      }
      if (!debits.empty()) {  // the tokens --flaw-debit charged, as text
        std::vector<std::string> charged;
        for (size_t k = 0; k < debits[size_t(i)].size(); ++k)
          if (debits[size_t(i)][k]) charged.push_back(tok_.decode({g.outs[size_t(i)].tokens[k]}));
        j["debited"] = charged;
      }
      out << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    }
  }

  model::Transformer<float>& pol_;
  const Reference ref_;
  const tokenizer::Tokenizer& tok_;
  const std::vector<stories::InstructRecord>& recs_;
  const RewardFn& rewards_;
  const GrpoSettings s_;
  const int P_;
  const uint64_t seed_;
  const std::string samples_path_;
  EpochOrder order_;
  uint64_t draws_ = 0;    // rounds of sampling so far (each its own seed)
  uint64_t batches_ = 0;  // batches so far (more than one round each with dynamic sampling)
  int inner_ = 0;
  size_t slot_ = 0;
  std::vector<Rollout> slots_;
  PretrainMix* mix_;                         // null: no pre-training mix
  std::unique_ptr<FlawFinder> flaws_;        // null: no --flaw-debit
  std::vector<train::Batch> mix_windows_;    // each micro-batch's windows
  double acc_loss_ = 0, acc_kl_ = 0, acc_clip_ = 0, acc_ptx_ = 0;
  int acc_n_ = 0, acc_ptx_n_ = 0;
  json acc_metrics_ = json::object();
};

}  // namespace

std::string request_prompt(const stories::InstructRecord& r) {
  return r.task == kStoryBeginningTask ? r.instruction : tokenizer::alpaca_prompt(r.instruction, r.input);
}

std::vector<stories::InstructRecord> requests_that_fit(std::vector<stories::InstructRecord> requests,
                                                       const tokenizer::Tokenizer& tok, int context, bool quiet,
                                                       const std::string& origin) {
  const size_t all = requests.size();
  std::vector<stories::InstructRecord> fit;
  for (auto& r : requests)
    if (int(tok.encode(request_prompt(r)).size()) + 16 <= context) fit.push_back(std::move(r));
  if (fit.empty())
    throw Error(fmt::format("no request leaves room for an answer in the model's context of {} tokens", context), origin);
  if (fit.size() < all && !quiet)
    fmt::print(stderr, "slm: note: {} of {} requests left out: the prompt leaves under 16 tokens of the context\n",
               all - fit.size(), all);
  return fit;
}

std::vector<stories::InstructRecord> read_requests(const std::string& path, const std::vector<std::string>& tasks) {
  auto all = eval::read_instruct_records(path);
  if (tasks.empty()) return all;
  std::vector<stories::InstructRecord> out;
  for (auto& r : all)
    if (std::find(tasks.begin(), tasks.end(), r.task) != tasks.end()) out.push_back(std::move(r));
  if (out.empty()) throw Error(fmt::format("no record of the tasks {}", fmt::join(tasks, ", ")), path);
  return out;
}

void add_story_beginnings(std::vector<stories::InstructRecord>& requests, double share, uint64_t seed) {
  if (share <= 0) return;
  if (!(share < 1)) throw Error("expected a share below 1", "--story-share");
  // Not one the evaluations continue: the first 256 of the before/after evaluation's and
  // of `slm eval`'s (--seed 1) beginnings, and no beginning twice.
  std::set<std::string> seen;
  for (uint64_t s : {eval::kBeforeAfterStorySeed, eval::eval_story_seed(1)})
    for (auto& b : eval::builtin_story_beginnings(256, s)) seen.insert(std::move(b));
  const auto n = size_t(std::ceil(share / (1 - share) * double(requests.size()) - 1e-9));
  const size_t want = requests.size() + n;
  for (int batch = 0; requests.size() < want && batch < 64; ++batch)  // the generator's openings repeat: draw more
    for (auto& b : eval::builtin_story_beginnings(int(2 * n), seed + 1000 * uint64_t(batch))) {
      if (!seen.insert(b).second) continue;
      stories::InstructRecord r;
      r.task = kStoryBeginningTask, r.instruction = std::move(b);
      requests.push_back(std::move(r));
      if (requests.size() == want) break;
    }
  if (requests.size() < want)
    throw Error(fmt::format("the generator made only {} distinct beginnings of the {} asked for",
                            n - (want - requests.size()), n), "--story-share");
}

RewardFn rule_rewards(const RewardModel& model) {
  return [&model](const std::vector<Completion>& cs) {
    std::vector<const stories::InstructRecord*> reqs;
    std::vector<std::string> texts;
    std::vector<bool> eot;
    for (const auto& c : cs) reqs.push_back(c.request), texts.push_back(c.text), eot.push_back(c.eot);
    return model.score_all(reqs, texts, eot);
  };
}

train::TrainResult grpo_train(model::Transformer<float>& policy, const Reference& reference,
                              const tokenizer::Tokenizer& tok, const std::vector<stories::InstructRecord>& requests,
                              const RewardFn& reward, const GrpoSettings& settings, const train::LoopOptions& options) {
  train::LoopOptions lo = options;
  if (settings.group < 2) throw Error("a group needs at least 2 completions to compare", "--group");
  if (settings.updates_per_batch < 1) throw Error("expected at least 1", "--updates-per-batch");
  if (settings.max_rounds < 1) throw Error("expected at least 1", "--max-rounds");
  if (!(settings.word_credit >= 0 && std::isfinite(settings.word_credit)))
    throw Error("expected a finite advantage >= 0 (0: off)", "--word-credit");
  if (!(settings.flaw_debit >= 0 && std::isfinite(settings.flaw_debit)))
    throw Error("expected a finite penalty >= 0 (0: off)", "--flaw-debit");
  for (const auto& rule : settings.filter_rules) require_reward_rule(rule, "--filter-rules");
  // Requests whose prompt leaves no room for an answer are left out, and counted.
  std::vector<stories::InstructRecord> fit = requests_that_fit(requests, tok, policy.config().context, lo.quiet, "grpo");
  // Story beginnings, a share of the requests that fit, from a generator seed of their own.
  add_story_beginnings(fit, settings.story_share, 777);
  std::unique_ptr<PretrainMix> mix;
  if (!settings.ptx.data.empty())
    mix = std::make_unique<PretrainMix>(settings.ptx, policy.config(), tok, lo.train.grad_accum, lo.train.seed);
  GrpoSource source(policy, reference, tok, fit, reward, settings, lo.train.batch_size, lo.train.grad_accum,
                    lo.train.seed, (fs::path(lo.out_dir) / "samples.jsonl").string(), mix.get());
  lo.forward_backward = [&source](model::Transformer<float>& m, const train::Batch& b, double grad_scale) {
    return source.forward_backward(m, b, grad_scale);
  };
  auto res = train::run_training(policy, source, lo);
  write_metric_curve(lo.out_dir, "reward", "reward.svg", "GRPO: mean reward of the sampled completions");
  return res;
}

AlignResult grpo(const GrpoOptions& opt) {
  auto records = read_requests(opt.prompts, opt.tasks);
  RewardModel rewards(opt.rewards);
  AlignModels models = load_align_models(opt.run);
  const train::TrainConfig& tc = opt.run.train;
  if (!opt.run.quiet)
    fmt::print(stderr, "GRPO on {} ({:.2f}M parameters): {} requests, {} steps of {} x {} completions\n", opt.run.base,
               double(models.policy.model->num_params()) / 1e6, records.size(), tc.max_steps,
               tc.batch_size * tc.grad_accum, opt.grpo.group);
  const auto& g = opt.grpo;
  nlohmann::json info = {{"requests", records.size()},
                         {"grpo",
                          {{"group", g.group}, {"max_tokens", g.max_tokens}, {"temperature", g.temperature},
                           {"top_k", g.top_k}, {"clip_eps", g.clip_eps}, {"beta", g.beta},
                           {"updates_per_batch", g.updates_per_batch}, {"scale_rewards", reward_scale_name(g.scale)},
                           {"filter_std", g.filter_std}, {"filter_rules", g.filter_rules}, {"max_rounds", g.max_rounds},
                           {"word_credit", g.word_credit}, {"flaw_debit", g.flaw_debit},
                           {"story_share", g.story_share}}},
                         {"ptx",
                          {{"data", g.ptx.data}, {"coef", g.ptx.coef}, {"batch", g.ptx.batch}, {"context", g.ptx.context},
                           {"loss", g.ptx.loss}, {"teacher", g.ptx.teacher}}},
                         {"rewards", opt.rewards.to_json()}};
  const RewardFn fn = rule_rewards(rewards);
  AlignResult res;
  GrpoSettings gs = g;
  gs.hunspell_dir = opt.rewards.hunspell_dir;  // the flaw debit spells as the grammar rule does
  res.train = grpo_train(*models.policy.model, models.ref(), *models.policy.tok, records, fn, gs,
                         align_loop_options(opt.run, models, opt.prompts, "grpo", info));
  evaluate_run(opt.run, res);
  return res;
}

}  // namespace slm::align
