#include "slm/eval/multiple_choice.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "slm/stories/story.h"
#include "slm/stories/story_checks.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/jsonl.h"
#include "slm/util/rng.h"

namespace slm::eval {

using nlohmann::json;

namespace {

// One item: {context, choices, label} or HellaSwag's {ctx or ctx_a + ctx_b, endings, label}.
McItem mc_item_from_json(const json& j, const std::string& where) {
  McItem it;
  it.task = j.value("task", std::string());
  try {
    if (j.contains("endings")) {  // HellaSwag
      it.context = j.contains("ctx") ? j["ctx"].get<std::string>()
                                     : j.at("ctx_a").get<std::string>() + " " + j.at("ctx_b").get<std::string>();
      for (const auto& e : j["endings"]) it.choices.push_back(" " + e.get<std::string>());
    } else {
      it.context = j.at("context").get<std::string>();
      for (const auto& e : j.at("choices")) it.choices.push_back(e.get<std::string>());
    }
    const auto& l = j.at("label");
    it.label = l.is_string() ? std::stoi(l.get<std::string>()) : l.get<int>();
  } catch (const std::exception& e) {
    throw Error(std::string("expected {context, choices, label} or HellaSwag's {ctx, endings, label}: ") + e.what(),
                where);
  }
  if (it.choices.size() < 2) throw Error("an item needs at least two choices", where);
  if (it.label < 0 || size_t(it.label) >= it.choices.size())
    throw Error("label " + std::to_string(it.label) + " is outside the " + std::to_string(it.choices.size()) +
                    " choices (labels count from 0)",
                where);
  return it;
}

}  // namespace

std::vector<McItem> read_mc_file(const std::string& path) {
  std::vector<McItem> out;
  for_each_jsonl(path, [&](const json& j, const std::string& where) { out.push_back(mc_item_from_json(j, where)); });
  if (out.empty()) throw Error("no items in the file", path);
  return out;
}

namespace {

// The text before position cut, from the start of its paragraph (or the one before, when
// that is short): enough to infer the answer, short enough that K solved examples fit the
// context beside it.
std::string local_context(const std::string& text, size_t cut) {
  size_t start = text.rfind("\n\n", cut);
  start = start == std::string::npos ? 0 : start + 2;
  if (cut - start < 160 && start > 2) {
    size_t prev = text.rfind("\n\n", start - 3);
    start = prev == std::string::npos ? 0 : prev + 2;
  }
  return text.substr(start, cut - start);
}

// The local context before the last whole-word occurrence of word; "" if there is none
// past the story's first sentences.
std::string before_last(const std::string& text, const std::string& word) {
  for (size_t p = text.rfind(word); p != std::string::npos && p > 0; p = text.rfind(word, p - 1)) {
    bool start = text[p - 1] == ' ';
    size_t e = p + word.size();
    bool end = e == text.size() || !std::isalpha(static_cast<unsigned char>(text[e]));
    if (start && end && p > 40) return local_context(text, p - 1);
    if (p == 0) break;
  }
  return "";
}

void add_item(std::vector<McItem>& out, const char* task, std::string context, std::string answer,
              std::vector<std::string> others, Rng& rng, const std::string& prefix = " ") {
  McItem it;
  it.task = task;
  it.context = std::move(context);
  std::vector<std::string> all = {answer};
  for (auto& o : others)
    if (o != answer && all.size() < 4 && std::find(all.begin(), all.end(), o) == all.end()) all.push_back(o);
  if (all.size() < 2) return;
  rng.shuffle(all);
  for (size_t i = 0; i < all.size(); ++i) {
    if (all[i] == answer) it.label = int(i);
    it.choices.push_back(prefix + all[i]);
  }
  out.push_back(std::move(it));
}

}  // namespace

std::vector<McItem> builtin_mc_tasks(int n, uint64_t seed) {
  static const stories::StoryGenerator gen;
  const auto& v = gen.vocabulary();
  static const std::vector<std::string> feelings = {"happy", "sad", "scared", "angry", "proud", "worried", "excited",
                                                     "glad", "upset", "lonely", "brave", "tired"};
  std::vector<McItem> out;
  Rng rng(hash64("mc", seed));
  int made[4] = {};
  for (uint64_t i = 0; made[0] < n || made[1] < n || made[2] < n || made[3] < n; ++i) {
    if (i > uint64_t(n) * 50) break;
    auto s = gen.generate(seed, i);
    const auto& p = s.plan;
    if (made[0] < n) {  // which object: the last mention of the key object
      std::string ctx = before_last(s.text, p.object->word);
      std::vector<std::string> others;
      for (int k = 0; k < 6; ++k) others.push_back(v.nouns[size_t(rng.pick(v.nouns_of_kind[int(p.object->kind)]))].word);
      if (!ctx.empty()) add_item(out, "which_object", ctx, p.object->word, others, rng), ++made[0];
    }
    if (made[1] < n) {  // which character: the last mention of the main character
      std::string ctx = before_last(s.text, p.main.name);
      std::vector<std::string> others = {p.friend_.name};
      for (int k = 0; k < 6; ++k) others.push_back(rng.pick(v.names).name);
      if (!ctx.empty()) add_item(out, "which_character", ctx, p.main.name, others, rng), ++made[1];
    }
    if (made[2] < n) {  // which feeling: the last "felt <feeling>"
      for (size_t q = s.text.rfind(" felt "); q != std::string::npos && q > 0; q = s.text.rfind(" felt ", q - 1)) {
        size_t a = q + 6, e = a;
        while (e < s.text.size() && std::isalpha(static_cast<unsigned char>(s.text[e]))) ++e;
        std::string word = s.text.substr(a, e - a);
        if (std::find(feelings.begin(), feelings.end(), word) == feelings.end()) continue;
        std::vector<std::string> others = feelings;
        rng.shuffle(others);
        add_item(out, "which_feeling", local_context(s.text, q + 5), word, others, rng);
        ++made[2];
        break;
      }
    }
    if (made[3] < n) {  // which ending fits: the real last paragraph or another story's
      auto paras = stories::paragraphs_of(s.text);
      if (paras.size() >= 3) {
        std::string ctx = paras[paras.size() - 2];  // the paragraph before the ending
        std::vector<std::string> others;
        for (int k = 1; k <= 3; ++k) others.push_back(stories::paragraphs_of(gen.generate(seed + 7, i * 3 + uint64_t(k)).text).back());
        add_item(out, "which_ending", ctx + "\n\n", paras.back(), others, rng, "");
        ++made[3];
      }
    }
  }
  return out;
}

std::vector<double> choice_logprobs(model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                                    const std::string& context, const std::vector<std::string>& choices) {
  const int ctx_len = m.config().context, V = m.config().vocab_size;
  auto ctx = tok.encode(context);
  std::vector<std::vector<uint32_t>> seqs;
  std::vector<size_t> starts;
  size_t longest = 0;
  for (const auto& c : choices) {
    auto ch = tok.encode(c, false);
    std::vector<uint32_t> s = ctx;
    s.insert(s.end(), ch.begin(), ch.end());
    size_t start = ctx.size();
    if (s.size() > size_t(ctx_len) + 1) {  // keep the end: the choice and the context nearest it
      size_t cut = s.size() - (size_t(ctx_len) + 1);
      s.erase(s.begin(), s.begin() + long(cut));
      start = start > cut ? start - cut : 1;
    }
    longest = std::max(longest, s.size());
    seqs.push_back(std::move(s));
    starts.push_back(std::max<size_t>(start, 1));
  }
  // One forward pass for all choices, padded to the longest.
  const int B = int(seqs.size()), T = int(std::max<size_t>(longest - 1, 1));
  std::vector<int32_t> x(size_t(B) * T, int32_t(tok.eot()));
  for (int b = 0; b < B; ++b)
    for (size_t t = 0; t + 1 < seqs[size_t(b)].size(); ++t) x[size_t(b) * T + t] = int32_t(seqs[size_t(b)][t]);
  m.forward(x.data(), B, T);
  const float* logits = m.logits();
  std::vector<double> out(size_t(B), 0.0);
  for (int b = 0; b < B; ++b) {
    const auto& s = seqs[size_t(b)];
    for (size_t t = starts[size_t(b)]; t < s.size(); ++t) {
      const float* z = logits + (size_t(b) * T + (t - 1)) * size_t(V);
      double mx = *std::max_element(z, z + V), sum = 0;
      for (int j = 0; j < V; ++j) sum += std::exp(double(z[j]) - mx);
      out[size_t(b)] += double(z[s[t]]) - mx - std::log(sum);
    }
  }
  return out;
}

McResult score_mc(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::vector<McItem>& items,
                  const std::vector<McItem>& shots, int k, uint64_t seed) {
  McResult r;
  r.k = k;
  double acc = 0, acc_norm = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const McItem& it = items[i];
    std::string prompt;
    if (k > 0) {
      Rng rng(hash64(it.context, seed));
      std::vector<size_t> pool;
      for (size_t j = 0; j < shots.size(); ++j)
        if (shots[j].context != it.context && shots[j].task == it.task) pool.push_back(j);
      rng.shuffle(pool);
      for (int s = 0; s < k && size_t(s) < pool.size(); ++s) {
        const McItem& sh = shots[pool[size_t(s)]];
        prompt += sh.context + sh.choices[size_t(sh.label)] + "\n\n";
      }
    }
    prompt += it.context;
    auto lp = choice_logprobs(m, tok, prompt, it.choices);
    size_t best = 0, best_norm = 0;
    for (size_t c = 1; c < lp.size(); ++c) {
      if (lp[c] > lp[best]) best = c;
      if (lp[c] / double(std::max<size_t>(1, it.choices[c].size())) >
          lp[best_norm] / double(std::max<size_t>(1, it.choices[best_norm].size())))
        best_norm = c;
    }
    acc += best == size_t(it.label);
    acc_norm += best_norm == size_t(it.label);
  }
  r.n = int(items.size());
  if (r.n) r.acc = acc / r.n, r.acc_norm = acc_norm / r.n;
  return r;
}

}  // namespace slm::eval
