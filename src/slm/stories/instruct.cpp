#include "slm/stories/instruct.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "slm/stories/story_checks.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"
#include "slm/util/output_folder.h"
#include "slm/util/hash.h"
#include "slm/util/rng.h"
#include "slm/util/rouge.h"

namespace slm::stories {

using nlohmann::json;

const std::vector<TaskInfo>& instruct_tasks() {
  static const std::vector<TaskInfo> tasks = {
      {"write_words", "write", 3.0},    {"write_features", "write", 2.0}, {"continue", "rouge", 0.7},
      {"summarize", "rouge", 1.0},      {"main_character", "question", 1.0}, {"friend", "question", 1.0},
      {"place", "question", 1.0},       {"object", "question", 1.0},      {"kind", "question", 0.7},
      {"yes_no", "question", 1.5},      {"moral", "rouge", 0.6},          {"happy_ending", "rouge", 0.6},
  };
  return tasks;
}

const TaskInfo* find_task(const std::string& name) {
  for (const auto& t : instruct_tasks())
    if (name == t.name) return &t;
  return nullptr;
}

namespace {

std::string quoted_list(std::vector<std::string> w, Rng& rng, bool quotes) {
  rng.shuffle(w);
  std::string out;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i) out += i + 1 == w.size() ? " and " : ", ";
    out += quotes ? "\"" + w[i] + "\"" : w[i];
  }
  return out;
}

std::string feature_phrase(Feature f) {
  switch (f) {
    case Feature::Dialogue: return "some dialogue";
    case Feature::BadEnding: return "a sad ending";
    case Feature::MoralValue: return "a moral at the end";
    case Feature::PlotTwist: return "a surprise";
    case Feature::Foreshadowing: return "a hint early on of what will happen";
    case Feature::Conflict: return "a quarrel";
  }
  return "";
}

std::string pick(Rng& rng, std::initializer_list<const char*> options) {
  return *(options.begin() + rng.below(uint32_t(options.size())));
}

std::string substitute(std::string t, const std::string& key, const std::string& value) {
  for (size_t p; (p = t.find(key)) != std::string::npos;) t.replace(p, key.size(), value);
  return t;
}

// The paragraphs of `after` from the first one that differs from `before`, or empty
// when the two texts do not share all paragraphs up to the ending.
std::string changed_ending(const std::string& before, const std::string& after) {
  auto a = paragraphs_of(before), b = paragraphs_of(after);
  size_t k = 0;
  while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
  if (k == 0 || k + 2 < a.size() || k >= b.size()) return "";
  std::string out;
  for (size_t i = k; i < b.size(); ++i) out += (i > k ? "\n\n" : "") + b[i];
  return out;
}

class TaskMaker {
 public:
  TaskMaker(const StoryGenerator& gen, uint64_t seed, uint64_t index)
      : TaskMaker(gen, seed, index, gen.generate(seed, index)) {}
  // For a story already generated from (seed, index).
  TaskMaker(const StoryGenerator& gen, uint64_t seed, uint64_t index, Story story)
      : gen_(gen), seed_(seed), index_(index), story_(std::move(story)), p_(story_.plan),
        paras_(paragraphs_of(story_.text)) {}

  // Fills r for the task, or returns false when the task does not apply to this story.
  bool make(const std::string& task, Rng& rng, InstructRecord& r) {
    using Make = bool (TaskMaker::*)(Rng&, InstructRecord&);
    // One function a task; instruct_tasks() lists the same names with their weights.
    static const std::unordered_map<std::string, Make> table = {
        {"write_words", &TaskMaker::write_words},       {"write_features", &TaskMaker::write_features},
        {"continue", &TaskMaker::continue_story},       {"summarize", &TaskMaker::summarize},
        {"moral", &TaskMaker::moral},                   {"happy_ending", &TaskMaker::happy_ending},
        {"main_character", &TaskMaker::main_character}, {"friend", &TaskMaker::friend_name},
        {"place", &TaskMaker::place},                   {"object", &TaskMaker::object},
        {"kind", &TaskMaker::kind},                     {"yes_no", &TaskMaker::yes_no},
    };
    auto it = table.find(task);
    if (it == table.end()) return false;
    r = InstructRecord{};
    r.task = task;
    r.story = index_;
    return (this->*it->second)(rng, r);
  }

 private:
  bool write_words(Rng& rng, InstructRecord& r) { return write(rng, r, false); }
  bool write_features(Rng& rng, InstructRecord& r) { return write(rng, r, true); }

  bool write(Rng& rng, InstructRecord& r, bool with_features) {
    const std::string& name = p_.main.name;
    const std::string& text = story_.text;
    // Alpaca's filter drops instructions that differ in a word or two, so a writing
    // instruction names more of its story than the three words: who, what kind, where.
    std::string who = (rng.chance(0.5) ? std::string(indefinite_article(p_.main.kind)) + " " + p_.main.kind + " named " : "") + name;
    std::string where = contains_word(text, p_.place) && rng.chance(0.6) ? " at the " + p_.place : "";
    std::string words = quoted_list(story_.words, rng, rng.chance(0.5));
    // Built from independently drawn parts, so that two instructions share few words
    // unless they ask for nearly the same story.
    std::string ask = pick(rng, {"Write", "Tell me", "Make up", "Can you write", "Please tell me", "Create", "I would like",
                                 "Could you make up", "Give me", "Invent"});
    std::string kind = pick(rng, {"a short story", "a story", "a little story", "a bedtime story", "a simple story",
                                  "a tale", "a children's story", "a very short story", "a sweet story"});
    std::string audience = pick(rng, {"", " for a small child", " for a three-year-old", " for my little sister",
                                      " for kids", " for a toddler", " for my son", " for my daughter"});
    std::string subject = pick(rng, {" about {who}{where}", " about {who}{where}", " starring {who}{where}",
                                     " where the main character is {who}", " in which {who} is the hero"});
    std::string use = pick(rng, {" Use the words {w}.", " It must include {w}.", " Put {w} in it.", " Include {w}.",
                                 " The words {w} should appear in it.", " Make sure to use {w}.", " Work in {w}.",
                                 " Do not forget the words {w}."});
    r.instruction = ask + " " + kind + audience + subject + ".";
    if (with_features) {
      if (p_.features.empty()) return false;
      std::vector<std::string> feats;
      for (auto f : p_.features) feats.push_back(feature_phrase(f)), r.features.push_back(feature_name(f));
      r.instruction += substitute(pick(rng, {" It should have {f}.", " Give it {f}.", " The story needs {f}.",
                                             " Add {f}.", " I want {f} in it."}),
                                  "{f}", quoted_list(feats, rng, false));
    }
    r.instruction += use;
    r.instruction = substitute(substitute(substitute(r.instruction, "{who}", who), "{where}", where), "{w}", words);
    r.output = text;
    r.words = story_.words;
    return true;
  }

  bool continue_story(Rng& rng, InstructRecord& r) {
    if (paras_.size() < 3) return false;
    r.instruction = pick(rng, {"Continue this story.", "Finish the story.", "What happens next? Write the rest of the story.",
                               "Write the rest of this story."});
    r.input = paras_[0];
    for (size_t i = 1; i < paras_.size(); ++i) r.output += (i > 1 ? "\n\n" : "") + paras_[i];
    return true;
  }

  bool summarize(Rng& rng, InstructRecord& r) {
    r.instruction = pick(rng, {"Summarize this story in one sentence.", "What is this story about? Answer in one sentence.",
                               "Write a one-sentence summary of the story.", "Tell me in one sentence what happens in this story."});
    r.input = story_.text;
    r.output = story_.summary;
    return true;
  }

  bool moral(Rng& rng, InstructRecord& r) {
    if (!p_.has(Feature::MoralValue) || paras_.size() < 2) return false;
    r.instruction = pick(rng, {"What lesson does this story teach? Write one sentence.", "Write a moral for this story.",
                               "Add the lesson that the story teaches."});
    for (size_t i = 0; i + 1 < paras_.size(); ++i) r.input += (i ? "\n\n" : "") + paras_[i];
    r.output = paras_.back();
    return true;
  }

  bool happy_ending(Rng& rng, InstructRecord& r) {
    if (!p_.has(Feature::BadEnding)) return false;
    Story happy = gen_.generate(seed_, index_, [](StoryPlan& p) {
      p.features.erase(std::remove(p.features.begin(), p.features.end(), Feature::BadEnding), p.features.end());
    });
    r.output = changed_ending(story_.text, happy.text);
    if (r.output.empty()) return false;
    r.instruction = pick(rng, {"Rewrite the ending of this story so that it ends happily.",
                               "This story ends sadly. Write a happy ending for it instead.",
                               "Change the end of the story to a happy one."});
    r.input = story_.text;
    return true;
  }

  // Questions: the input is the story, the output a short answer.
  bool main_character(Rng& rng, InstructRecord& r) {
    const std::string& name = p_.main.name;
    r.input = story_.text;
    r.instruction = pick(rng, {"Who is the main character of this story?", "Who is this story about?",
                               "What is the name of the main character?"});
    return answer(r, name, name + ".");
  }

  bool friend_name(Rng& rng, InstructRecord& r) {
    if (!contains_word(story_.text, p_.friend_.name)) return false;
    r.input = story_.text;
    r.instruction = substitute(pick(rng, {"Who does {n} meet in the story?", "What is the name of {n}'s friend?",
                                          "Who is {n}'s friend in this story?"}),
                               "{n}", p_.main.name);
    return answer(r, p_.friend_.name, p_.friend_.name + ".");
  }

  bool place(Rng& rng, InstructRecord& r) {
    if (!contains_word(story_.text, p_.place)) return false;
    r.input = story_.text;
    r.instruction = substitute(pick(rng, {"Where does the story happen?", "Where is {n} in the story?",
                                          "In which place does this story take place?"}),
                               "{n}", p_.main.name);
    return answer(r, p_.place, "At the " + p_.place + ".");
  }

  bool object(Rng&, InstructRecord& r) {
    const std::string& obj = p_.object->word;
    if (!contains_word(story_.text, obj)) return false;
    r.input = story_.text;
    const char* q = p_.arc == "find"     ? "What does {n} find?"
                    : p_.arc == "lost"   ? "What does {n} lose?"
                    : p_.arc == "want"   ? "What does {n} want?"
                    : p_.arc == "broken" ? "What breaks in the story?"
                                         : "Which thing matters most in this story?";
    r.instruction = substitute(q, "{n}", p_.main.name);
    return answer(r, obj, "The " + obj + ".");
  }

  bool kind(Rng&, InstructRecord& r) {
    const std::string& kind = p_.main.kind;
    if (!contains_word(story_.text, kind)) return false;
    r.input = story_.text;
    bool child = kind == "girl" || kind == "boy";
    const std::string& name = p_.main.name;
    r.instruction = substitute(child ? "Is {n} a boy or a girl?" : "What kind of animal is {n}?", "{n}", name);
    return answer(r, kind, name + " is " + indefinite_article(kind) + " " + kind + ".");
  }

  static bool answer(InstructRecord& r, const std::string& short_answer, const std::string& output) {
    r.answer = short_answer;
    r.output = output;
    return true;
  }

  bool yes_no(Rng& rng, InstructRecord& r) {
    const std::string& text = story_.text;
    r.input = text;
    switch (rng.below(3)) {
      case 0: {  // an animal or thing that is, or is not, in the story
        bool yes = rng.chance(0.5);
        std::string thing = p_.object->word;
        if (!yes) {
          const auto& v = gen_.vocabulary();
          for (int tries = 0; tries < 50 && contains_word(text, thing); ++tries)
            thing = v.nouns[size_t(rng.pick(v.nouns_of_kind[rng.chance(0.5) ? int(NounKind::Toy) : int(NounKind::Animal)]))].word;
          if (contains_word(text, thing)) return false;
        } else if (!contains_word(text, thing)) {
          return false;
        }
        r.instruction = "Is there " + std::string(indefinite_article(thing)) + " " + thing + " in this story?";
        return answer(r, yes ? "yes" : "no", yes ? "Yes." : "No.");
      }
      case 1: {
        bool sad = p_.has(Feature::BadEnding);
        r.instruction = pick(rng, {"Does this story have a happy ending?", "Does the story end happily?"});
        return answer(r, sad ? "no" : "yes", sad ? "No." : "Yes.");
      }
      default: {
        bool talk = p_.has(Feature::Dialogue);
        r.instruction = pick(rng, {"Is there any dialogue in this story?", "Do the characters speak in quotes in this story?"});
        return answer(r, talk ? "yes" : "no", talk ? "Yes." : "No.");
      }
    }
  }

  const StoryGenerator& gen_;
  uint64_t seed_, index_;
  Story story_;
  const StoryPlan& p_;
  std::vector<std::string> paras_;
};

}  // namespace

InstructRecord writing_request(const StoryGenerator& gen, Story story, uint64_t seed, uint64_t index) {
  Rng rng(hash64("request", seed ^ (index * 0x9E3779B97F4A7C15ull)));
  TaskMaker maker(gen, seed, index, std::move(story));
  InstructRecord r;
  // write_features where the story has features, in the instruct set's proportion (2:3).
  if (!(rng.chance(0.4) && maker.make("write_features", rng, r))) maker.make("write_words", rng, r);
  return r;
}

InstructSet make_instruct_set(const StoryGenerator& gen, const InstructOptions& opt) {
  if (opt.stories <= 0) throw Error("the number of stories must be positive", "--stories");
  if (opt.tasks_per_story < 1 || opt.tasks_per_story > int(instruct_tasks().size()))
    throw Error("tasks per story must be between 1 and " + std::to_string(instruct_tasks().size()), "--tasks-per-story");
  if (!(opt.heldout_fraction >= 0 && opt.heldout_fraction < 1)) throw Error("must be in [0, 1)", "--heldout");
  std::vector<InstructRecord> all;
  std::vector<bool> heldout;
  for (int64_t i = 0; i < opt.stories; ++i) {
    TaskMaker maker(gen, opt.seed, uint64_t(i));
    Rng rng(hash64("instruct", opt.seed ^ (uint64_t(i) * 0x9E3779B97F4A7C15ull)));
    // Split by story: a hash of (seed, index), so adding stories never moves one.
    bool held = held_out(std::to_string(i), opt.heldout_fraction, opt.seed * 31 + 7);
    std::vector<const TaskInfo*> left;
    for (const auto& t : instruct_tasks()) left.push_back(&t);
    int made = 0;
    while (made < opt.tasks_per_story && !left.empty()) {
      // Draw a task by weight without replacement; skip those that do not apply.
      double total = 0;
      for (auto* t : left) total += t->weight;
      double u = rng.uniform() * total;
      size_t k = 0;
      while (k + 1 < left.size() && (u -= left[k]->weight) > 0) ++k;
      InstructRecord r;
      if (maker.make(left[k]->name, rng, r)) {
        all.push_back(std::move(r));
        heldout.push_back(held);
        ++made;
      }
      left.erase(left.begin() + long(k));
    }
  }
  // Alpaca's filter, applied to the instruction among records that share an input (all
  // writing tasks share the empty input; each story's questions share the story).
  std::unordered_map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < all.size(); ++i) groups[all[i].input].push_back(i);
  std::vector<bool> keep(all.size(), true);
  for (auto& [input, idx] : groups) {
    std::vector<std::string> texts;
    for (size_t i : idx) texts.push_back(all[i].instruction);
    auto k = rouge_l_dedup(texts, opt.rouge_threshold);
    for (size_t j = 0; j < idx.size(); ++j) keep[idx[j]] = k[j];
  }
  InstructSet out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (!keep[i]) {
      ++out.dropped_similar;
      continue;
    }
    (heldout[i] ? out.heldout : out.train).push_back(std::move(all[i]));
  }
  return out;
}

std::string instruct_jsonl(const InstructRecord& r) {
  json j = json::object();
  j["instruction"] = r.instruction;
  j["input"] = r.input;
  j["output"] = r.output;
  if (!r.task.empty()) j["task"] = r.task;
  if (!r.answer.empty()) j["answer"] = r.answer;
  if (!r.words.empty()) j["words"] = r.words;
  if (!r.features.empty()) j["features"] = r.features;
  j["story"] = r.story;
  return j.dump() + "\n";
}

InstructRecord instruct_from_json_line(const std::string& line, const std::string& where) {
  auto j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("malformed JSON (expected one object per line)", where);
  InstructRecord r;
  auto str = [&](const char* key, std::string& dst, bool required) {
    if (!j.contains(key)) {
      if (required) throw Error(std::string("missing field '") + key + "'", where);
      return;
    }
    if (!j[key].is_string()) throw Error(std::string("field '") + key + "' must be a string", where);
    dst = j[key].get<std::string>();
  };
  auto list = [&](const char* key, std::vector<std::string>& dst) {
    if (!j.contains(key)) return;
    if (!j[key].is_array()) throw Error(std::string("field '") + key + "' must be an array of strings", where);
    for (const auto& v : j[key]) {
      if (!v.is_string()) throw Error(std::string("field '") + key + "' must be an array of strings", where);
      dst.push_back(v.get<std::string>());
    }
  };
  str("instruction", r.instruction, true);
  str("input", r.input, false);
  str("output", r.output, true);
  str("task", r.task, false);
  str("answer", r.answer, false);
  list("words", r.words);
  list("features", r.features);
  if (j.contains("story") && j["story"].is_number_unsigned()) r.story = j["story"].get<uint64_t>();
  return r;
}

std::map<std::string, std::pair<int64_t, int64_t>> write_instruct_set(const InstructSet& set,
                                                                      const std::string& out_dir) {
  OutputFolder out(out_dir);
  std::map<std::string, std::pair<int64_t, int64_t>> per_task;
  for (auto [recs, name] : {std::pair{&set.train, "train.jsonl"}, std::pair{&set.heldout, "heldout.jsonl"}}) {
    std::string text;
    for (const auto& r : *recs) {
      text += instruct_jsonl(r);
      auto& c = per_task[r.task];
      (recs == &set.train ? c.first : c.second)++;
    }
    write_file_atomic(out.file(name), text);
  }
  out.commit();
  return per_task;
}

}  // namespace slm::stories
