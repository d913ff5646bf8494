#include "slm/eval/story_eval.h"

#include <sstream>
#include <unordered_set>

#include <fmt/format.h>

#include "slm/stories/instruct.h"
#include "slm/data/sources.h"
#include "slm/stories/story.h"
#include "slm/stories/story_checks.h"
#include "slm/tokenizer/chat_template.h"
#include "slm/eval/spelling.h"
#include "slm/eval/text_metrics.h"
#include "slm/infer/generate.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::eval {

using nlohmann::json;

std::vector<std::string> builtin_story_beginnings(int n, uint64_t seed) {
  static const stories::StoryGenerator gen;
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {  // the first sentence
    auto sents = stories::split_sentences(gen.generate(seed, uint64_t(i)).text);
    out.push_back(sents.empty() ? "Once upon a time" : sents[0]);
  }
  return out;
}

std::vector<StoryPrompt> builtin_story_prompts(int n, uint64_t seed, bool templated) {
  static const stories::StoryGenerator gen;
  std::vector<StoryPrompt> out;
  for (auto& b : builtin_story_beginnings(n, seed)) {
    StoryPrompt p;
    p.beginning = p.prompt = std::move(b);
    out.push_back(p);
  }
  for (int i = 0; i < n; ++i) {  // requests: words and features
    auto s = gen.generate(seed + 1, uint64_t(i));
    StoryPrompt p;
    p.words = s.words;
    for (auto f : s.plan.features) p.features.push_back(stories::feature_name(f));
    std::string words = s.words[0] + ", " + s.words[1] + ", " + s.words[2];
    if (templated) {
      std::string ask = "Write a short story for a small child that uses the words " + words + ".";
      if (!p.features.empty()) ask += " The story should have " + fmt::format("{}", fmt::join(p.features, ", ")) + ".";
      p.prompt = tokenizer::alpaca_prompt(ask);
    } else {
      // TinyStories-Instruct's header, as slm data stories --instruct writes it.
      p.prompt = (p.features.empty() ? "" : "Features: " + fmt::format("{}", fmt::join(p.features, ", ")) + "\n") +
                 "Words: " + words + "\nSummary:";
    }
    out.push_back(p);
  }
  return out;
}

namespace {

// The story in a completion: after "Story:" when the model wrote a TinyStories-Instruct
// header, else all of it; for beginnings, the beginning and its continuation.
std::string story_text(const StoryPrompt& p, const std::string& completion) {
  size_t k = completion.find("Story:");
  if (p.beginning.empty() && k != std::string::npos) {
    std::string s = completion.substr(k + 6);
    size_t a = s.find_first_not_of(" \n");
    return a == std::string::npos ? "" : s.substr(a);
  }
  return p.beginning + completion;
}

std::unordered_set<uint64_t> corpus_4grams(const std::string& path) {
  std::unordered_set<uint64_t> seen;
  data::SourceOptions so;
  data::read_source(
      path, data::source_format_for(path), so,
      [&](data::Record&& r, const std::string&) { add_4grams(words_of(r.kind == data::Record::Text ? r.text : r.output), seen); },
      [](const Error& e) { throw e; });
  return seen;
}

}  // namespace

StoryEval eval_stories(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                       const std::vector<StoryPrompt>& prompts, const StoryEvalOptions& opt) {
  if (prompts.empty()) throw Error("no prompts: nothing to evaluate", "eval stories");
  infer::GenerateOptions g;
  g.max_tokens = opt.max_tokens;
  g.sampling.temperature = opt.temperature;
  g.sampling.top_k = opt.top_k;
  g.seed = opt.seed;
  std::vector<std::string> texts;
  for (const auto& p : prompts) texts.push_back(p.prompt);
  auto outs = infer::generate_batch(m, tok, texts, g);
  std::vector<std::string> stories;
  for (size_t i = 0; i < prompts.size(); ++i) stories.push_back(story_text(prompts[i], outs[i].text));
  StoryEval ev = score_stories(prompts, stories, opt.train_text);
  for (size_t i = 0; i < prompts.size(); ++i) ev.samples[i]["finish"] = outs[i].finish;
  return ev;
}

namespace {

// Misspelled words of a story by Hunspell; first names are not spelling errors.
int misspelled_words(SpellChecker& spell, const std::string& story, const ChildVocabulary& child) {
  int bad = 0;
  for (const auto& w : spell.misspelled(story)) {
    std::string l = w;
    for (auto& c : l) c = char(std::tolower(static_cast<unsigned char>(c)));
    bad += child.gender_of(l) < 0;
  }
  return bad;
}

// A request's shares of required words used and of features shown (1 when none were asked).
std::pair<double, double> request_scores(const StoryPrompt& p, const std::string& story, const stories::Vocabulary& vocab) {
  int used = 0, shown = 0;
  for (const auto& w : p.words) used += stories::uses_required_word(story, w, vocab);
  for (const auto& f : p.features) {
    auto feat = stories::feature_from_name(f);
    shown += feat && stories::shows_feature(story, *feat);
  }
  return {p.words.empty() ? 1.0 : double(used) / double(p.words.size()),
          p.features.empty() ? 1.0 : double(shown) / double(p.features.size())};
}

// The sums over the stories that the aggregate figures are made of.
struct StorySums {
  int stories = 0, words = 0, misspelled = 0, unfinished = 0, pron_checks = 0, pron_errors = 0, requests = 0;
  double child_share = 0, fk_grade = 0, sentence_length = 0, doubled = 0, articles = 0, repeated = 0;
  double req_words = 0, req_features = 0;
  std::vector<std::vector<std::string>> docs;  // each story's words, for the figures over the set

  void add(const std::string& story, const StoryMetrics& sm, int bad) {
    ++stories, words += sm.words, misspelled += bad, unfinished += sm.unfinished;
    pron_checks += sm.pronoun_checks, pron_errors += sm.pronoun_errors;
    child_share += sm.child_vocab_share, fk_grade += sm.fk_grade, sentence_length += sm.sentence_length;
    doubled += sm.doubled_words, articles += sm.article_errors, repeated += sm.repeated_4grams;
    docs.push_back(words_of(story));
  }

  json metrics(const std::string& train_text) const {
    const double n = double(stories);
    json mt;
    mt["stories"] = stories;
    mt["mean_words"] = words / n;
    mt["age.child_vocab_share"] = child_share / n;
    mt["age.flesch_kincaid_grade"] = fk_grade / n;
    mt["age.sentence_length"] = sentence_length / n;
    mt["grammar.misspelled_share"] = words ? double(misspelled) / words : 0.0;
    mt["grammar.unfinished_share"] = unfinished / n;
    mt["grammar.doubled_words_per_story"] = doubled / n;
    mt["grammar.article_errors_per_story"] = articles / n;
    mt["consistency.pronoun_agreement"] = pron_checks ? json(1.0 - double(pron_errors) / pron_checks) : json(nullptr);
    mt["repetition.repeated_4grams"] = repeated / n;
    for (int k = 1; k <= 3; ++k) mt[fmt::format("diversity.distinct_{}", k)] = distinct_n(docs, k);
    mt["diversity.self_bleu"] = self_bleu(docs);
    if (!train_text.empty()) mt["creativity.novel_4grams"] = novel_4gram_share(docs, corpus_4grams(train_text));
    if (requests) {
      mt["instruct.required_words"] = req_words / requests;
      mt["instruct.features_shown"] = req_features / requests;
    }
    return mt;
  }
};

}  // namespace

StoryEval score_stories(const std::vector<StoryPrompt>& prompts, const std::vector<std::string>& stories,
                        const std::string& train_text) {
  if (stories.empty()) throw Error("no stories: nothing to evaluate", "eval stories");
  if (!prompts.empty() && prompts.size() != stories.size())
    throw Error(fmt::format("{} prompts for {} stories", prompts.size(), stories.size()), "eval stories");
  const stories::Vocabulary& vocab = stories::Vocabulary::shared();
  static const ChildVocabulary child(vocab);
  SpellChecker spell;
  StoryEval ev;
  StorySums sums;
  for (size_t i = 0; i < stories.size(); ++i) {
    const std::string& story = stories[i];
    const StoryMetrics sm = story_metrics(story, child);
    const int bad = misspelled_words(spell, story, child);
    sums.add(story, sm, bad);
    json s = {{"story", story},         {"words", sm.words},          {"child_vocab_share", sm.child_vocab_share},
              {"fk_grade", sm.fk_grade}, {"misspelled", bad},          {"unfinished", sm.unfinished},
              {"repeated_4grams", sm.repeated_4grams}};
    if (!prompts.empty()) s["prompt"] = prompts[i].prompt;
    if (!prompts.empty() && (!prompts[i].words.empty() || !prompts[i].features.empty())) {
      auto [ws, fs] = request_scores(prompts[i], story, vocab);
      ++sums.requests, sums.req_words += ws, sums.req_features += fs;
      s["required_words"] = ws;
      s["features_shown"] = fs;
    }
    ev.samples.push_back(std::move(s));
  }
  ev.metrics = sums.metrics(train_text);
  return ev;
}

}  // namespace slm::eval
