#include "slm/scaling/minimal_pairs.h"

#include <algorithm>

#include "slm/eval/multiple_choice.h"
#include "slm/stories/story.h"
#include "slm/util/hash.h"
#include "slm/util/rng.h"

namespace slm::scaling {

namespace {

using stories::NounKind;

// One-word countable nouns with a distinct plural ("kite"/"kites"; not "sheep", not "milk").
std::vector<const stories::Noun*> countable_nouns(const stories::Vocabulary& v) {
  std::vector<const stories::Noun*> out;
  for (NounKind k : {NounKind::Animal, NounKind::Toy, NounKind::Food, NounKind::Thing})
    for (int i : v.nouns_of_kind[size_t(k)]) {
      const auto& n = v.nouns[size_t(i)];
      if (!n.mass && n.word.find(' ') == std::string::npos && n.plural != n.word) out.push_back(&n);
    }
  return out;
}

std::vector<std::string> adjectives(const stories::Vocabulary& v, const std::vector<int>& which) {
  std::vector<std::string> out;
  for (int i : which)
    if (v.adjectives[size_t(i)].word.find(' ') == std::string::npos) out.push_back(v.adjectives[size_t(i)].word);
  return out;
}

bool starts_with_vowel_sound(const std::string& w) { return std::string(stories::indefinite_article(w)) == "an"; }

}  // namespace

const std::vector<std::string>& minimal_pair_task_names() {
  static const std::vector<std::string> names = {"agreement", "pronoun_gender", "determiner_number", "article"};
  return names;
}

std::vector<MinimalPair> minimal_pairs(int n, uint64_t seed) {
  static const stories::StoryGenerator gen;
  const auto& v = gen.vocabulary();
  const auto nouns = countable_nouns(v);
  const auto thing_adj = adjectives(v, v.thing_adjectives), being_adj = adjectives(v, v.being_adjectives);
  std::vector<const stories::FirstName*> names_of[2];
  for (const auto& f : v.names) names_of[f.gender == stories::Gender::Female ? 0 : 1].push_back(&f);
  std::vector<const stories::Noun*> vowel_nouns, consonant_nouns;
  for (const auto* x : nouns) (starts_with_vowel_sound(x->word) ? vowel_nouns : consonant_nouns).push_back(x);
  Rng rng(hash64("minimal_pairs", seed));
  std::vector<MinimalPair> out;
  const int pairs = n + (n & 1);
  for (int i = 0; i < pairs; ++i) {
    const bool first_form = i % 2 == 0;  // the balance: each task's two forms alternate
    const std::string name = rng.pick(names_of[i % 2 == 0 ? 0 : 1])->name;
    const std::string who = rng.pick(v.names).name;
    {  // agreement: was after a singular subject, were after a plural one
      const auto* x = rng.pick(nouns);
      const std::string adj = rng.pick(thing_adj);
      if (first_form)
        out.push_back({"agreement", "The " + x->word + " was " + adj + ".", "The " + x->word + " were " + adj + "."});
      else
        out.push_back({"agreement", "The " + x->plural + " were " + adj + ".", "The " + x->plural + " was " + adj + "."});
    }
    {  // pronoun_gender: the pronoun of the name's gender (female names on even items, male on odd)
      const std::string adj = rng.pick(being_adj);
      const std::string s = name + " was " + adj + ", so ";
      const bool female = i % 2 == 0;
      out.push_back({"pronoun_gender", s + (female ? "she" : "he") + " went home.", s + (female ? "he" : "she") + " went home."});
    }
    {  // determiner_number: a + singular, two + plural
      const auto* x = rng.pick(nouns);
      const std::string a = stories::indefinite_article(x->word);
      if (first_form)
        out.push_back({"determiner_number", who + " saw " + a + " " + x->word + ".", who + " saw " + a + " " + x->plural + "."});
      else
        out.push_back({"determiner_number", who + " saw two " + x->plural + ".", who + " saw two " + x->word + "."});
    }
    {  // article: an before a vowel sound, a before a consonant
      const auto* x = rng.pick(first_form ? vowel_nouns : consonant_nouns);
      const std::string good = stories::indefinite_article(x->word), bad = good == "an" ? "a" : "an";
      out.push_back({"article", who + " saw " + good + " " + x->word + ".", who + " saw " + bad + " " + x->word + "."});
    }
  }
  return out;
}

PairScorer model_pair_scorer(model::Transformer<float>& m, const tokenizer::Tokenizer& tok) {
  return [&m, &tok](const MinimalPair& p) -> std::array<double, 2> {
    auto lp = eval::choice_logprobs(m, tok, std::string(tokenizer::kEndOfText), {p.good, p.bad});
    return {lp[0], lp[1]};
  };
}

std::vector<TaskScore> score_minimal_pairs(const std::vector<MinimalPair>& pairs, const PairScorer& score) {
  std::vector<TaskScore> out;
  for (const auto& task : minimal_pair_task_names()) {
    double right = 0;
    int n = 0;
    for (const auto& p : pairs) {
      if (p.task != task) continue;
      const auto lp = score(p);
      right += lp[0] > lp[1] ? 1.0 : lp[0] == lp[1] ? 0.5 : 0.0;
      ++n;
    }
    if (n == 0) continue;
    TaskScore t;
    t.task = task, t.k = 0, t.n = n, t.chance = 0.5;
    t.acc = wilson(right, n);
    out.push_back(t);
  }
  return out;
}

}  // namespace slm::scaling
