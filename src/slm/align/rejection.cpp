#include "slm/align/rejection.h"

#include <algorithm>
#include <exception>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <omp.h>
#include <nlohmann/json.hpp>

#include "slm/align/flaws.h"
#include "slm/align/grpo.h"
#include "slm/align/run.h"
#include "slm/align/word_guide.h"
#include "slm/infer/generate.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::align {

using nlohmann::json;

namespace {

struct Sample {
  std::string text;
  Reward reward;
  bool pass = true;
};

std::string record_line(const stories::InstructRecord& r, const Sample& s, float start, float next) {
  // instruct_jsonl's fields, built here so that a sample cut inside a character (a byte
  // token) is written with U+FFFD instead of stopping the run.
  json j = {{"instruction", r.instruction}, {"input", r.input}, {"output", s.text}, {"task", r.task}};
  if (!r.answer.empty()) j["answer"] = r.answer;
  if (!r.words.empty()) j["words"] = r.words;
  if (!r.features.empty()) j["features"] = r.features;
  j["story"] = r.story, j["reward"] = s.reward.total, j["sampled"] = true;
  if (start > 0 || next > 0) j["guide"] = {start, next};
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

void validate(const RejectionOptions& opt) {
  if (opt.group < 1) throw Error(fmt::format("expected at least 1 completion a request, got {}", opt.group), "--group");
  if (opt.keep < 1 || opt.keep > opt.group)
    throw Error(fmt::format("expected 1 to --group ({}) records a request, got {}", opt.group, opt.keep), "--keep");
  if (opt.batch < 1) throw Error(fmt::format("expected at least 1 request a batch, got {}", opt.batch), "--batch");
  if (!(opt.guide >= 0 && opt.guide <= 100))
    throw Error(fmt::format("expected a logit bonus from 0 to 100, got {}", opt.guide), "--guide");
  if (!(opt.guide_next <= 200))
    throw Error(fmt::format("expected a logit bonus up to 200, got {}", opt.guide_next), "--guide-next");
  for (const auto& rule : opt.require) require_reward_rule(rule, "--require");
  if (opt.model.empty()) throw Error("expected the model that writes the completions", "--model");
}

}  // namespace

std::vector<std::string> rejection_failures(const RejectionOptions& opt, const Reward& reward, bool ended,
                                            const std::string& text, const FlawFinder* flaws,
                                            const std::set<std::string>& asked) {
  std::vector<std::string> failed;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) failed.push_back("blank");
  for (const auto& rule : opt.require) {
    auto it = reward.rules.find(rule);
    // A rule that does not apply (words on a question) is no check; "eot" is also checked
    // from the finish itself, in case a reward config leaves its rule out.
    const bool below = it != reward.rules.end() && it->second < 1.0 - 1e-9;
    if (below || (rule == "eot" && !ended)) failed.push_back(rule);
  }
  if (reward.total < opt.min_reward) failed.push_back("min_reward");
  if (flaws && !flaws->find(text, asked).empty()) failed.push_back("flaws");
  return failed;
}

RejectionStats rejection_sample(const RejectionOptions& opt) {
  validate(opt);
  auto records = read_requests(opt.prompts, opt.tasks);
  if (opt.limit > 0 && records.size() > size_t(opt.limit)) records.resize(size_t(opt.limit));
  AlignRun run;
  run.base = opt.model, run.threads = opt.threads;
  AlignModels models = load_align_models(run);
  models.reference.reset();  // only the policy samples
  // As GRPO does: a request whose prompt leaves no room for an answer is left out (and
  // counted), not an error in the middle of a batch.
  records = requests_that_fit(std::move(records), *models.policy.tok, models.policy.model->config().context, opt.quiet,
                              opt.prompts);
  RewardModel rewards(opt.rewards);
  const float guide_next = opt.guide_next < 0 ? 2 * opt.guide : opt.guide_next;
  const bool guided = opt.guide > 0 || guide_next > 0;
  std::unique_ptr<FlawFinder> flaws;
  if (opt.no_flaws) flaws = std::make_unique<FlawFinder>(opt.rewards.hunspell_dir);
  infer::GenerateOptions go;
  go.max_tokens = opt.max_tokens;
  go.sampling.temperature = opt.temperature;
  go.sampling.top_k = opt.top_k;

  RejectionStats stats;
  double reward_sum = 0, kept_sum = 0;
  std::string text;
  const size_t G = size_t(opt.group), B = size_t(opt.batch), T = size_t(std::max(1, opt.threads));
  // Each thread decodes whole batches of its own, one thread inside each (a batch of a
  // 1-3M model is too small to split well: measured 2.1 requests a second on one thread
  // with batches of 8 x 8, 0.8 on two threads sharing batches of 4 x 8); scoring (Hunspell)
  // stays on one thread. A batch's samples depend only on its place, not on the threads.
  struct NoNesting {  // restored however the function ends
    int saved = omp_get_max_active_levels();
    NoNesting() { omp_set_max_active_levels(1); }
    ~NoNesting() { omp_set_max_active_levels(saved); }
  } no_nesting;
  Progress bar("sample", double(records.size()), "requests", opt.quiet);
  for (size_t wave = 0; wave < records.size(); wave += B * T) {
    const size_t n_batches = std::min(T, (records.size() - wave + B - 1) / B);
    std::vector<std::vector<infer::GenerateResult>> outs(n_batches);
    std::vector<std::exception_ptr> errors(n_batches);  // an exception may not leave an OpenMP region
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(n_batches))
    for (size_t t = 0; t < n_batches; ++t) try {
      const size_t first = wave + t * B, last = std::min(records.size(), first + B);
      std::vector<std::string> prompts;
      for (size_t i = first; i < last; ++i)
        prompts.insert(prompts.end(), G, request_prompt(records[i]));
      infer::GenerateOptions mine = go;
      mine.seed = opt.seed + first * G;  // sequence k of the batch draws from seed + k: each sample its own stream
      std::vector<WordGuide> guides;  // one a request of the batch
      if (guided) {
        for (size_t i = first; i < last; ++i)
          guides.emplace_back(*models.policy.tok, records[i].words, opt.guide, guide_next);
        mine.bias = [&guides, G](size_t seq, const std::vector<uint32_t>& generated, float* logits) {
          guides[seq / G].apply(generated, logits);
        };
      }
      outs[t] = infer::generate_batch(*models.policy.model, *models.policy.tok, prompts, mine);
    } catch (...) {
      errors[t] = std::current_exception();
    }
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
    const size_t last = std::min(records.size(), wave + n_batches * B);
    for (size_t i = wave; i < last; ++i) {
      const auto& r = records[i];
      const std::set<std::string> asked =
          flaws ? flaws->request_words(r.instruction + "\n" + r.input) : std::set<std::string>{};
      std::vector<Sample> samples(G);
      for (size_t k = 0; k < G; ++k) {
        const auto& o = outs[(i - wave) / B][((i - wave) % B) * G + k];
        Sample& s = samples[k];
        s.text = o.text;
        s.reward = rewards.score(r, o.text, o.finish == "eot");
        reward_sum += s.reward.total;
        const auto failed = rejection_failures(opt, s.reward, o.finish == "eot", s.text, flaws.get(), asked);
        for (const auto& why : failed) ++stats.failed[why];
        s.pass = failed.empty();
      }
      std::stable_sort(samples.begin(), samples.end(),
                       [](const Sample& a, const Sample& b) { return a.reward.total > b.reward.total; });
      std::set<std::string> written;
      for (const Sample& s : samples) {
        if (!s.pass || int(written.size()) >= opt.keep || !written.insert(s.text).second) continue;
        text += record_line(r, s, opt.guide, guide_next), kept_sum += s.reward.total;
      }
      stats.kept += written.size(), stats.requests_kept += written.empty() ? 0 : 1;
    }
    stats.requests = last, stats.samples = last * G;
    bar.update(double(last), fmt::format("kept {}", stats.kept));
  }
  bar.finish();
  stats.mean_reward = stats.samples ? reward_sum / double(stats.samples) : 0;
  stats.mean_kept_reward = stats.kept ? kept_sum / double(stats.kept) : 0;
  write_file_atomic(opt.out, text);
  return stats;
}

}  // namespace slm::align
