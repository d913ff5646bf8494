#include "slm/align/preferences.h"

#include <algorithm>

#include <fmt/format.h>

#include "slm/align/grpo.h"
#include "slm/align/run.h"
#include "slm/align/word_swap.h"
#include "slm/infer/generate.h"
#include "slm/stories/vocabulary.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/progress.h"

namespace slm::align {

using nlohmann::json;

namespace {

bool blank(const std::string& t) { return t.find_first_not_of(" \t\r\n") == std::string::npos; }

std::string pair_line(const stories::InstructRecord& r, const std::string& chosen, const std::string& rejected,
                      double chosen_reward, double rejected_reward, const std::string& chosen_from, bool partial = false) {
  json j = {{"prompt", r.instruction}, {"input", r.input}, {"chosen", chosen}, {"rejected", rejected},
            {"chosen_reward", chosen_reward}, {"rejected_reward", rejected_reward}, {"task", r.task},
            {"chosen_from", chosen_from}};
  if (partial) j["partial"] = true;
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

// --rejected swap-words: each writing request's reference over itself with the required
// words swapped; no model runs. Requests without words, or whose reference uses none of
// them, make no pair.
size_t swapped_word_pairs(const PreferenceOptions& opt, const std::vector<stories::InstructRecord>& records,
                          std::string& text) {
  RewardModel rewards(opt.rewards);
  const auto& vocab = stories::Vocabulary::shared();
  size_t pairs = 0;
  Progress bar("pairs", double(records.size()), "requests", opt.quiet);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    if (!r.words.empty()) {
      const std::string rejected = swap_required_words(r.output, r.words, vocab, opt.seed + i);
      const double good = rewards.score(r, r.output, true).total, bad = rewards.score(r, rejected, true).total;
      if (rejected != r.output && good - bad >= opt.min_gap && !blank(r.output))
        text += pair_line(r, r.output, rejected, good, bad, "reference"), ++pairs;
    }
    bar.update(double(i + 1));
  }
  bar.finish();
  return pairs;
}

}  // namespace

size_t rank_preferences(const PreferenceOptions& opt) {
  const bool from_reference = opt.chosen == "reference", edited = opt.chosen == "edited";
  if (!from_reference && !edited && opt.chosen != "model")
    throw Error(fmt::format("unknown '{}': expected model, reference or edited", opt.chosen), "--chosen");
  if (opt.rejected != "sample" && opt.rejected != "swap-words")
    throw Error(fmt::format("unknown '{}': expected sample or swap-words", opt.rejected), "--rejected");
  const bool swap = opt.rejected == "swap-words";
  if (opt.first_uses && !edited) throw Error("only edited pairs are cut after their edits: use it with --chosen edited", "--first-uses");
  if (swap && !from_reference)
    throw Error("swapped words make a rejected response from the reference: use it with --chosen reference", "--rejected");
  if (opt.group < (opt.chosen == "model" ? 2 : 1))
    throw Error(fmt::format("expected at least 2 completions a request to rank (got {}); 1 only with --chosen reference or edited", opt.group),
                "--group");
  auto records = read_requests(opt.prompts, opt.tasks);
  if (opt.limit > 0 && records.size() > size_t(opt.limit)) records.resize(size_t(opt.limit));
  std::string text;
  size_t pairs = 0;
  if (swap) {
    pairs = swapped_word_pairs(opt, records, text);
    write_file_atomic(opt.out, text);
    return pairs;
  }
  if (opt.model.empty()) throw Error("expected the model that writes the completions", "--model");
  AlignRun run;
  run.base = opt.model, run.threads = opt.threads;
  AlignModels models = load_align_models(run);
  RewardModel rewards(opt.rewards);
  const auto& vocab = stories::Vocabulary::shared();
  infer::GenerateOptions go;
  go.max_tokens = opt.max_tokens;
  go.sampling.temperature = opt.temperature;
  Progress bar("rank", double(records.size()), "requests", opt.quiet);
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    go.seed = opt.seed + i * uint64_t(opt.group);
    std::vector<std::string> prompts(size_t(opt.group), tokenizer::alpaca_prompt(r.instruction, r.input));
    auto outs = infer::generate_batch(*models.policy.model, *models.policy.tok, prompts, go);
    std::vector<std::string> texts;
    std::vector<double> score;
    for (const auto& o : outs) texts.push_back(o.text), score.push_back(rewards.score(r, o.text, o.finish == "eot").total);
    const size_t worst = size_t(std::min_element(score.begin(), score.begin() + opt.group) - score.begin());
    if (from_reference) {
      // The record's answer ends where the model should stop: scored as ending with end-of-text.
      texts.push_back(r.output), score.push_back(rewards.score(r, r.output, true).total);
    } else if (edited) {
      // The worst completion with the required words put in where it has words of their kind;
      // it ends as the completion did (or, with first_uses, both end after the edits).
      size_t cut = 0;
      texts.push_back(r.words.empty() ? texts[worst] : use_required_words(texts[worst], r.words, vocab, &cut));
      if (opt.first_uses && cut > 0) {
        texts[worst].resize(cut);
        texts.back() = use_required_words(texts[worst], r.words, vocab);
        score[worst] = rewards.score(r, texts[worst], false).total;
      }
      score.push_back(rewards.score(r, texts.back(), !opt.first_uses && outs[worst].finish == "eot").total);
    }
    const size_t best = opt.chosen == "model" ? size_t(std::max_element(score.begin(), score.end()) - score.begin())
                                              : texts.size() - 1;
    if (score[best] - score[worst] >= opt.min_gap && texts[best] != texts[worst] && !blank(texts[best]) &&
        !blank(texts[worst]))
      text += pair_line(r, texts[best], texts[worst], score[best], score[worst], opt.chosen, opt.first_uses), ++pairs;
    bar.update(double(i + 1));
  }
  bar.finish();
  write_file_atomic(opt.out, text);
  return pairs;
}

}  // namespace slm::align
