#include "slm/scaling/context_tasks.h"

#include <algorithm>

#include "slm/stories/story.h"
#include "slm/util/hash.h"
#include "slm/util/rng.h"

namespace slm::scaling {

namespace {

using stories::NounKind;

// A sentence of a generated story that mentions none of `avoid`: filler between the fact
// and the question, so the answer sits a sentence back, as in a story.
std::string filler(const stories::StoryGenerator& gen, uint64_t seed, uint64_t i, const std::vector<std::string>& avoid) {
  for (uint64_t k = 0; k < 20; ++k) {
    std::string s = gen.generate(seed, i * 20 + k).sentence;
    bool clean = s.size() < 120;
    for (const auto& w : avoid) clean = clean && s.find(w) == std::string::npos;
    if (clean) return s;
  }
  return "The sun was warm.";
}

// Words of one kind that a/an can precede ("a kite", never "a milk").
std::vector<std::string> countable(const stories::Vocabulary& v, std::initializer_list<NounKind> kinds) {
  std::vector<std::string> out;
  for (NounKind k : kinds)
    for (int i : v.nouns_of_kind[size_t(k)])
      if (!v.nouns[size_t(i)].mass && v.nouns[size_t(i)].word.find(' ') == std::string::npos)
        out.push_back(v.nouns[size_t(i)].word);
  return out;
}

// k distinct words of pool, none in `not_these`.
std::vector<std::string> draw(Rng& rng, const std::vector<std::string>& pool, size_t k,
                              const std::vector<std::string>& not_these) {
  std::vector<std::string> out;
  for (int guard = 0; out.size() < k && guard < 1000; ++guard) {
    const std::string& w = rng.pick(pool);
    if (std::find(out.begin(), out.end(), w) == out.end() && std::find(not_these.begin(), not_these.end(), w) == not_these.end())
      out.push_back(w);
  }
  return out;
}

std::string article(const std::string& w) { return std::string("aeiou").find(w[0]) != std::string::npos ? "an " : "a "; }

eval::McItem item(const char* task, std::string context, const std::string& answer, std::vector<std::string> others,
                  Rng& rng) {
  eval::McItem it;
  it.task = task;
  it.context = std::move(context);
  others.insert(others.begin(), answer);
  rng.shuffle(others);
  for (size_t i = 0; i < others.size(); ++i) {
    if (others[i] == answer) it.label = int(i);
    it.choices.push_back(" " + others[i]);
  }
  return it;
}

}  // namespace

const std::vector<std::string>& context_task_names() {
  static const std::vector<std::string> names = {"copy_name", "earlier_object", "pattern"};
  return names;
}

std::vector<eval::McItem> context_tasks(int n, uint64_t seed) {
  static const stories::StoryGenerator gen;
  const auto& v = gen.vocabulary();
  std::vector<std::string> names;
  for (const auto& f : v.names) names.push_back(f.name);
  const auto toys = countable(v, {NounKind::Toy, NounKind::Thing});
  const auto words = countable(v, {NounKind::Animal, NounKind::Toy, NounKind::Food, NounKind::Thing});
  Rng rng(hash64("context_tasks", seed));
  std::vector<eval::McItem> out;
  for (int i = 0; i < n; ++i) {
    {  // copy_name: the owner's name, said once before
      auto who = draw(rng, names, 4, {});
      auto obj = draw(rng, toys, 1, {})[0];
      std::string ctx = who[0] + " had " + article(obj) + obj + ". " + filler(gen, seed, uint64_t(i) * 3, who) +
                        " The " + obj + " was found by";
      out.push_back(item("copy_name", ctx, who[0], {who[1], who[2], who[3]}, rng));
    }
    {  // earlier_object: which of two objects went into the box
      auto who = draw(rng, names, 1, {})[0];
      auto objs = draw(rng, toys, 4, {});
      std::string ctx = who + " put " + article(objs[0]) + objs[0] + " in the box and " + article(objs[1]) + objs[1] +
                        " on the bed. " + filler(gen, seed, uint64_t(i) * 3 + 1, objs) + " Then " + who +
                        " opened the box and saw the";
      out.push_back(item("earlier_object", ctx, objs[0], {objs[1], objs[2], objs[3]}, rng));
    }
    {  // pattern: a cycle of three words, shown two and two-thirds times
      auto w = draw(rng, words, 4, {});
      std::string ctx;
      for (int r = 0; r < 8; ++r) ctx += (r ? ", " : "") + w[size_t(r % 3)];
      ctx += ",";
      out.push_back(item("pattern", ctx, w[2], {w[0], w[1], w[3]}, rng));
    }
  }
  return out;
}

}  // namespace slm::scaling
