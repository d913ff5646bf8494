#include "slm/align/dpo.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "slm/align/before_after.h"
#include "slm/align/policy_loss.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/error.h"
#include "slm/util/jsonl.h"
#include "slm/util/progress.h"

namespace slm::align {

using nlohmann::json;

std::vector<Preference> read_preferences(const std::string& path) {
  std::vector<Preference> out;
  for_each_jsonl(path, [&](const json& j, const std::string& where) {
    Preference p;
    p.prompt = string_field(j, "prompt", where);
    p.chosen = string_field(j, "chosen", where);
    p.rejected = string_field(j, "rejected", where);
    if (j.contains("input")) p.input = string_field(j, "input", where);
    if (j.contains("partial")) {
      if (!j["partial"].is_boolean()) throw Error("field 'partial' must be true or false", where);
      p.partial = j["partial"].get<bool>();
    }
    for (const auto& [name, v] : {std::pair<const char*, const std::string*>{"prompt", &p.prompt},
                                  {"chosen", &p.chosen}, {"rejected", &p.rejected}})
      if (v->find_first_not_of(" \t\r\n") == std::string::npos)
        throw Error(fmt::format("field '{}' is empty: a preference needs a prompt and two different responses", name), where);
    if (p.chosen == p.rejected) throw Error("'chosen' and 'rejected' are the same response: nothing to prefer", where);
    p.where = where;
    out.push_back(std::move(p));
  });
  if (out.empty()) throw Error("no preference records in the file", path);
  return out;
}

namespace {

// A pair as the model reads it: two rows, prompt + response + end-of-text, the targets
// -1 on the prompt.
struct EncodedPair {
  std::vector<int32_t> chosen, rejected;  // the whole token sequences
  int prompt = 0;                         // prompt tokens (the same in both)
  double ref_chosen = 0, ref_rejected = 0;  // the reference's summed log-probabilities
};

// Fills rows [B = 2 per pair, T] from sequences: inputs, and targets -1 but on the responses.
void fill_rows(const std::vector<const std::vector<int32_t>*>& seqs, const std::vector<int>& prompts, int32_t pad,
               train::Batch& b) {
  b.B = int(seqs.size());
  b.T = 0;
  for (const auto* s : seqs) b.T = std::max(b.T, int(s->size()) - 1);
  b.x.assign(size_t(b.B) * b.T, pad);
  b.y.assign(size_t(b.B) * b.T, -1);
  b.counted = 0;
  for (int r = 0; r < b.B; ++r) {
    const auto& s = *seqs[size_t(r)];
    for (size_t t = 0; t + 1 < s.size(); ++t) {
      b.x[size_t(r) * b.T + t] = s[t];
      if (int(t) >= prompts[size_t(r)] - 1) b.y[size_t(r) * b.T + t] = s[t + 1], ++b.counted;
    }
  }
}

std::vector<double> row_sums(const std::vector<double>& logp, int B, int T) {
  std::vector<double> s(size_t(B), 0.0);
  for (int r = 0; r < B; ++r)
    for (int t = 0; t < T; ++t) s[size_t(r)] += logp[size_t(r) * T + t];
  return s;
}

// Pairs for the training loop: next() lays out each micro-batch's rows (chosen, rejected,
// ...); forward_backward() runs the policy once over them and takes the loss and its
// gradient from that same forward (with LoRA's dropout, the forward it trains through).
class DpoSource : public train::BatchSource {
 public:
  DpoSource(std::vector<EncodedPair> pairs, int batch, double beta, bool ipo, double nll_weight, uint64_t seed,
            int32_t pad)
      : pairs_(std::move(pairs)),
        batch_(batch),
        beta_(beta),
        ipo_(ipo),
        nll_weight_(nll_weight),
        pad_(pad),
        order_(pairs_.size(), seed) {}

  void next(train::Batch& b) override {
    std::vector<const std::vector<int32_t>*> seqs;
    std::vector<int> prompts;
    b.row_ids.clear();
    for (int i = 0; i < batch_; ++i) {
      const size_t k = order_.next();
      b.row_ids.push_back(int64_t(k));
      seqs.push_back(&pairs_[k].chosen), seqs.push_back(&pairs_[k].rejected);
      prompts.push_back(pairs_[k].prompt), prompts.push_back(pairs_[k].prompt);
    }
    fill_rows(seqs, prompts, pad_, b);
    b.w.clear();
    b.weight = double(batch_);  // the loss is a mean over pairs
  }

  // The mean loss of the micro-batch's pairs; the gradient of their summed loss times
  // grad_scale (1 / pairs in the step) is added into the trained weights.
  double forward_backward(model::Transformer<float>& m, const train::Batch& b, double grad_scale) {
    const int V = m.config().vocab_size, N = b.B * b.T;
    double loss = 0;
    auto head = [&](float* logits) {
      std::vector<double> logp;
      logprobs_of_logits(logits, b.y.data(), N, V, logp);
      const auto sums = row_sums(logp, b.B, b.T);
      std::vector<double> dlogp(size_t(N), 0.0);
      for (size_t i = 0; i < b.row_ids.size(); ++i) {
        const EncodedPair& p = pairs_[size_t(b.row_ids[i])];
        const int chosen_tokens = int(p.chosen.size()) - p.prompt;  // the response and its end-of-text
        PairTerm t = dpo_pair(sums[2 * i], sums[2 * i + 1], p.ref_chosen, p.ref_rejected, beta_, ipo_, nll_weight_,
                              chosen_tokens);
        // Every token of a response has its sum's derivative.
        for (int c = 0; c < b.T; ++c) {
          dlogp[2 * i * size_t(b.T) + size_t(c)] = grad_scale * t.dchosen;
          dlogp[(2 * i + 1) * size_t(b.T) + size_t(c)] = grad_scale * t.drejected;
        }
        loss += t.loss;
        acc_["loss"] += t.loss;
        acc_["margin"] += t.margin;
        acc_["accuracy"] += t.margin > 0;
        acc_["reward_chosen"] += beta_ * (sums[2 * i] - p.ref_chosen);
        acc_["reward_rejected"] += beta_ * (sums[2 * i + 1] - p.ref_rejected);
        acc_["chosen_nll"] += -sums[2 * i] / chosen_tokens;  // nats a token: whether the chosen stays likely
      }
      n_ += int(b.row_ids.size());
      logits_grad_of_dlogp(logits, b.y.data(), dlogp, N, V);
      return loss / double(b.row_ids.size());
    };
    return m.forward_backward_logits(b.x.data(), b.B, b.T, head, grad_scale);
  }

  json step_metrics() override {
    json m = json::object();
    for (const auto& [k, v] : acc_) m[k] = v / n_;
    m["note"] = fmt::format("margin {:.3f} | accuracy {:.0f}%", m["margin"].get<double>(), 100 * m["accuracy"].get<double>());
    acc_.clear(), n_ = 0;
    return m;
  }

  json state() const override { return order_.state(); }
  void restore(const json& s) override { order_.restore(s); }

 private:
  std::vector<EncodedPair> pairs_;
  int batch_;
  double beta_;
  bool ipo_;
  double nll_weight_;
  int32_t pad_;
  EpochOrder order_;
  std::map<std::string, double> acc_;
  int n_ = 0;
};

// Tokenizes the pairs (skipping, and counting, those longer than the context) and runs
// the reference over them once: it never changes.
std::vector<EncodedPair> encode_pairs(const std::vector<Preference>& prefs, const tokenizer::Tokenizer& tok,
                                      const Reference& ref, tensor::Precision precision, bool quiet) {
  std::vector<EncodedPair> out;
  const int context = ref.config().context;
  size_t too_long = 0;
  auto ids = [&](const std::string& s) {
    std::vector<int32_t> v;
    for (uint32_t id : tok.encode(s, /*specials=*/false)) v.push_back(int32_t(id));
    return v;
  };
  for (const auto& p : prefs) {
    EncodedPair e;
    auto prompt = ids(tokenizer::alpaca_prompt(p.prompt, p.input));
    e.prompt = int(prompt.size());
    e.chosen = prompt, e.rejected = prompt;
    for (int32_t t : ids(p.chosen)) e.chosen.push_back(t);
    for (int32_t t : ids(p.rejected)) e.rejected.push_back(t);
    if (!p.partial) e.chosen.push_back(int32_t(tok.eot())), e.rejected.push_back(int32_t(tok.eot()));
    if (int(std::max(e.chosen.size(), e.rejected.size())) > context + 1) {
      ++too_long;
      continue;
    }
    out.push_back(std::move(e));
  }
  if (out.empty()) throw Error(fmt::format("no pair fits the model's context of {} tokens", context), prefs[0].where);
  if (too_long && !quiet) fmt::print(stderr, "skipped {} pairs longer than the context ({} tokens)\n", too_long, context);
  Progress bar("reference", double(out.size()), "pairs", quiet);
  for (size_t i = 0; i < out.size(); ++i) {
    train::Batch b;
    fill_rows({&out[i].chosen, &out[i].rejected}, {out[i].prompt, out[i].prompt}, int32_t(tok.eot()), b);
    std::vector<double> logp;
    ref.logprobs(b.x.data(), b.y.data(), b.B, b.T, precision, logp);
    auto sums = row_sums(logp, b.B, b.T);
    out[i].ref_chosen = sums[0], out[i].ref_rejected = sums[1];
    bar.update(double(i + 1));
  }
  bar.finish();
  return out;
}

// The held-out pairs under the policy as it is now: the mean loss (returned), and the
// accuracy and margin kept for the metrics row.
class HeldOutPairs {
 public:
  HeldOutPairs(std::vector<EncodedPair> pairs, double beta, bool ipo, double nll_weight, int32_t pad)
      : pairs_(std::move(pairs)), beta_(beta), ipo_(ipo), nll_weight_(nll_weight), pad_(pad) {}

  double evaluate(model::Transformer<float>& m) {
    double loss = 0, margin = 0, right = 0, likelier = 0;
    for (const auto& p : pairs_) {
      train::Batch b;
      fill_rows({&p.chosen, &p.rejected}, {p.prompt, p.prompt}, pad_, b);
      std::vector<double> logp;
      token_logprobs(m, b.x.data(), b.y.data(), b.B, b.T, logp);
      const auto sums = row_sums(logp, b.B, b.T);
      const PairTerm t = dpo_pair(sums[0], sums[1], p.ref_chosen, p.ref_rejected, beta_, ipo_, nll_weight_,
                                  int(p.chosen.size()) - p.prompt);
      loss += t.loss, margin += t.margin, right += t.margin > 0, likelier += sums[0] > sums[1];
    }
    const double n = double(pairs_.size());
    // val_accuracy is DPO's (the margin over the reference's); val_likelier is what a
    // greedy decoder sees: the policy finds the chosen response likelier outright.
    last_ = {{"val_accuracy", right / n}, {"val_margin", margin / n}, {"val_likelier", likelier / n}};
    return loss / n;
  }
  json last() const { return last_; }
  size_t size() const { return pairs_.size(); }
  // The share of pairs whose chosen response the reference itself finds likelier: what
  // the base prefers before any training (the margins above are relative to it).
  double reference_accuracy() const {
    double n = 0;
    for (const auto& p : pairs_) n += p.ref_chosen > p.ref_rejected;
    return n / double(pairs_.size());
  }
  // The reference's mean log-likelihood gap, chosen minus rejected: how far val_margin
  // must go before the policy prefers the chosen responses outright.
  double reference_gap() const {
    double g = 0;
    for (const auto& p : pairs_) g += p.ref_chosen - p.ref_rejected;
    return g / double(pairs_.size());
  }

 private:
  std::vector<EncodedPair> pairs_;
  double beta_;
  bool ipo_;
  double nll_weight_;
  int32_t pad_;
  json last_ = json::object();
};

}  // namespace

AlignResult dpo(const DpoOptions& opt) {
  if (!(opt.beta > 0)) throw Error("expected beta > 0", "--beta");
  if (!(opt.nll_weight >= 0 && std::isfinite(opt.nll_weight))) throw Error("expected a finite weight >= 0", "--nll-weight");
  auto prefs = read_preferences(opt.data);
  AlignModels models = load_align_models(opt.run);
  // The reference at the precision the policy trains in, so that the margin starts at 0.
  const auto precision = tensor::parse_precision(opt.run.train.dtype, "train.dtype");
  auto pairs = encode_pairs(prefs, *models.policy.tok, models.ref(), precision, opt.run.quiet);
  const size_t n = pairs.size();
  if (!opt.run.quiet)
    fmt::print(stderr, "{} on {} ({:.2f}M parameters): {} pairs, {} steps of {}, beta {}\n", opt.ipo ? "IPO" : "DPO",
               opt.run.base, double(models.policy.model->num_params()) / 1e6, n, opt.run.train.max_steps,
               opt.run.train.batch_size * opt.run.train.grad_accum, opt.beta);
  DpoSource source(std::move(pairs), opt.run.train.batch_size, opt.beta, opt.ipo, opt.nll_weight, opt.run.train.seed,
                   int32_t(models.policy.tok->eot()));
  json info = {{"pairs", n},
               {"dpo", {{"beta", opt.beta}, {"loss", opt.ipo ? "ipo" : "sigmoid"}, {"nll_weight", opt.nll_weight}}}};
  std::unique_ptr<HeldOutPairs> held_out;
  if (!opt.val_data.empty()) {
    held_out = std::make_unique<HeldOutPairs>(
        encode_pairs(read_preferences(opt.val_data), *models.policy.tok, models.ref(), precision, opt.run.quiet), opt.beta,
        opt.ipo, opt.nll_weight, int32_t(models.policy.tok->eot()));
    info["val_pairs"] = held_out->size();
    info["val_reference_accuracy"] = held_out->reference_accuracy();
    info["val_reference_gap"] = held_out->reference_gap();
    if (!opt.run.quiet)
      fmt::print(stderr,
                 "held-out pairs: {}; the reference prefers the chosen response in {:.1f}% of them, by {:.2f} nats on "
                 "average\n",
                 held_out->size(), 100 * held_out->reference_accuracy(), held_out->reference_gap());
  }
  auto lo = align_loop_options(opt.run, models, opt.data, "dpo", info);
  lo.forward_backward = [&source](model::Transformer<float>& m, const train::Batch& b, double grad_scale) {
    return source.forward_backward(m, b, grad_scale);
  };
  if (held_out) {
    lo.validate = [&held_out](model::Transformer<float>& m) { return held_out->evaluate(m); };
    lo.val_metrics = [&held_out] { return held_out->last(); };
  }
  AlignResult res;
  res.train = train::run_training(*models.policy.model, source, lo);
  write_metric_curve(opt.run.out_dir, "accuracy", "accuracy.svg", "DPO: share of pairs the policy prefers rightly");
  evaluate_run(opt.run, res);
  return res;
}

}  // namespace slm::align
