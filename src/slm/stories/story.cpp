#include "slm/stories/story.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>

#include "slm/stories/assets.h"
#include "slm/stories/clause.h"
#include "slm/stories/word_lists.h"
#include "slm/stories/world.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/text.h"

namespace slm::stories {

namespace {

// The slots of assets/story.txt, in the order of kSlotNames.
enum Slot {
  kName, kHe, kHim, kHis, kHimself, kFriend, kFhe, kFhim, kFhis, kParent, kPhe, kPhim, kPhis,
  kKind, kFkind, kObj, kAObj, kATadjObj, kAAdjObj, kPlace, kAnimal, kAAnimal, kPerson, kAPerson,
  kNature, kANature, kAdj, kTadj, kBadj, kVerb, kVerbed, kArticle, kTrait, kFtrait, kFood, kAFood, kToy, kAToy,
  // Read from the world as the story goes (see World): who is spoken of and how, how the
  // main character feels, where they are, the object as things stand, who helps.
  kWho, kFwho, kFeel, kHere, kTheObj, kHelper,
  kNumSlots
};
const std::vector<std::string> kSlotNames = {
    "Name", "he", "him", "his", "himself", "Friend", "fhe", "fhim", "fhis", "parent", "phe", "phim", "phis",
    "kind", "fkind", "obj", "a_obj", "a_tadj_obj", "a_adj_obj", "place", "animal", "a_animal", "person", "a_person",
    "nature", "a_nature", "adj", "tadj", "badj", "verb", "verbed", "a", "trait", "ftrait", "food", "a_food", "toy",
    "a_toy", "who", "fwho", "feel", "here", "the_obj", "helper"};

// Optional parts of a story are left out once its text is this long: in the opening, in
// the problem (the conflict may follow), and in the events (the ending follows).
constexpr size_t kOpeningBytes = 450, kProblemBytes = 650, kEventBytes = 850;

struct Pronouns {
  const char *he, *him, *his, *himself;
};
const Pronouns& pronouns(Gender g) {
  static const Pronouns she{"she", "her", "her", "herself"}, he{"he", "him", "his", "himself"};
  return g == Gender::Female ? she : he;
}

// "a ball" / "an apple" / "some milk", with the article left to finish_text().
std::string with_article(const std::string& words, bool mass) {
  return (mass ? std::string("some ") : std::string(1, kArticleMark) + " ") + words;
}

const char* kArcs[] = {"find", "lost", "want", "broken", "help"};

// Why the main character feels as they do, as a clause after "because": read from the
// world, so it is true at that point of the story. Empty when nothing is wrong.
std::string why(const StoryPlan& p, const World& w, Rng& rng) {
  const Pronouns& mp = pronouns(p.main.gender);
  const std::string& obj = p.object->word;
  if (w.mood == Mood::Happy || w.mood == Mood::Hopeful) return {};  // "glad, because her kite was lost" is wrong
  if (w.tired) return std::string(mp.he) + " was tired";
  if (w.hungry) return std::string(mp.he) + " was hungry";
  const std::string his_obj = std::string(rng.chance(0.5) ? mp.his : "the") + " " + obj;
  const uint32_t u = rng.below(3);
  switch (w.object) {
    case ObjectState::Lost:
      return u == 0 ? his_obj + " was lost" : u == 1 ? std::string(mp.he) + " could not find " + his_obj
                                                     : his_obj + " was gone";
    case ObjectState::Broken:
      return u == 0 ? his_obj + " was broken" : u == 1 ? his_obj + " had a crack" : his_obj + " did not work";
    case ObjectState::Stuck:
      return u == 0 ? p.friend_.name + "'s " + obj + " was stuck"
                    : "the " + obj + (u == 1 ? " was still stuck" : " was out of reach");
    case ObjectState::Wanted:
      return u == 0 ? std::string(mp.he) + " wanted the " + obj + " so much"
                    : u == 1 ? "the " + obj + " was not " + mp.his + " yet" : std::string(mp.he) + " had no " + obj;
    default: return {};
  }
}

const char* feature_request(Feature f) {
  switch (f) {
    case Feature::Dialogue: return "the story should contain at least one dialogue";
    case Feature::BadEnding: return "the story has a bad ending";
    case Feature::MoralValue: return "the story has a moral value";
    case Feature::PlotTwist: return "something unexpected happens in the story (a plot twist)";
    case Feature::Foreshadowing: return "the narrative uses foreshadowing or setup and payoff";
    case Feature::Conflict: return "the story has some sort of conflict";
  }
  return "";
}

}  // namespace

const char* feature_name(Feature f) {
  static const char* names[] = {"Dialogue", "BadEnding", "MoralValue", "PlotTwist", "Foreshadowing", "Conflict"};
  return names[int(f)];
}

bool StoryPlan::has(Feature f) const {
  for (auto x : features)
    if (x == f) return true;
  return false;
}

StoryGenerator::StoryGenerator() : StoryGenerator(Vocabulary::builtin(), assets::get("story.txt")) {}

StoryGenerator::StoryGenerator(Vocabulary vocab, std::string_view grammar_text)
    : vocab_(std::move(vocab)),
      lists_(word_lists(vocab_)),
      grammar_(Grammar::parse(grammar_text, "story.txt", kSlotNames, kListNames)) {
  auto keep_short = [](std::vector<int>& out, const std::vector<int>& all, auto word_of, int most = kListSyllables) {
    for (int i : all)
      if (syllables(word_of(i)) <= most) out.push_back(i);
    if (out.empty()) out = all;  // a vocabulary of long words only still works
  };
  auto noun_word = [&](int i) -> const std::string& { return vocab_.nouns[size_t(i)].word; };
  for (int k = 0; k < kNounKinds; ++k) keep_short(short_.nouns_of_kind[k], vocab_.nouns_of_kind[k], noun_word);
  keep_short(short_.being_adjectives, vocab_.being_adjectives,
             [&](int i) -> const std::string& { return vocab_.adjectives[size_t(i)].word; }, kAdjectiveSyllables);
  std::vector<int> all_names(vocab_.names.size());
  for (size_t i = 0; i < all_names.size(); ++i) all_names[i] = int(i);
  keep_short(short_.names, all_names, [&](int i) -> const std::string& { return vocab_.names[size_t(i)].name; });
  // Fail at start-up, not in the middle of a run, when a section the plan needs is missing.
  for (const char* arc : kArcs)
    for (const char* part : {"_problem", "_event", "_good", "_bad"}) grammar_.section(std::string(arc) + part);
  for (int e = 0; e < kEvents; ++e) grammar_.section(std::string("ev_") + event_name(Event(e)));
}

StoryPlan StoryGenerator::draw_plan(Rng& rng) const {
  const auto& v = vocab_;
  StoryPlan p;
  p.noun = &v.nouns[rng.below(uint32_t(v.nouns.size()))];
  p.verb = &v.verbs[rng.below(uint32_t(v.verbs.size()))];
  p.adjective = &v.adjectives[rng.below(uint32_t(v.adjectives.size()))];
  for (int f = 0; f < kFeatures; ++f)
    if (rng.chance(0.35)) p.features.push_back(Feature(f));

  auto noun_of = [&](NounKind k) -> const Noun& { return v.nouns[size_t(rng.pick(short_.nouns_of_kind[int(k)]))]; };
  auto draw_character = [&](Character& c, const Character* other) {
    do {
      const auto& n = v.names[size_t(rng.pick(short_.names))];
      c.name = n.name;
      c.gender = n.gender;
    } while (other && c.name == other->name);
    c.kind = rng.chance(0.6) ? (c.gender == Gender::Female ? "girl" : "boy") : noun_of(NounKind::Animal).word;
    c.trait = v.adjectives[size_t(rng.pick(short_.being_adjectives))].word;
  };
  draw_character(p.main, nullptr);
  draw_character(p.friend_, &p.main);
  bool main_is_noun = p.noun->kind == NounKind::Animal && rng.chance(0.5);
  if (main_is_noun) p.main.kind = p.noun->word;
  static const char* kParents[] = {"mom", "dad", "mom", "dad", "grandma", "grandpa"};
  p.parent = kParents[rng.below(6)];
  p.arc = kArcs[rng.below(5)];

  NounKind k = p.noun->kind;
  bool is_object = k == NounKind::Toy || k == NounKind::Food || k == NounKind::Thing;
  p.object = is_object ? p.noun : &noun_of(rng.chance(0.5) ? NounKind::Toy : NounKind::Thing);
  p.place = k == NounKind::Place ? p.noun->word : noun_of(NounKind::Place).word;
  p.animal = k == NounKind::Animal && !main_is_noun ? p.noun->word : noun_of(NounKind::Animal).word;
  p.person = k == NounKind::Person ? p.noun->word : noun_of(NounKind::Person).word;
  p.nature = k == NounKind::Nature ? p.noun->word : noun_of(NounKind::Nature).word;
  p.food = k == NounKind::Food && p.object != p.noun ? p.noun : &noun_of(NounKind::Food);
  p.toy = &noun_of(NounKind::Toy);
  return p;
}

std::string StoryGenerator::write_text(const StoryPlan& p, Rng& rng, std::string_view* slots) const {
  std::string text;
  World world;
  world.here = p.place;
  const auto& mp = pronouns(p.main.gender);
  const auto& fp = pronouns(p.friend_.gender);
  const std::string main_desc = "the " + p.main.trait + " " + p.main.kind;
  const std::string friend_desc = "the " + p.friend_.trait + " " + p.friend_.kind;
  const Referent main_ref{p.main.name, mp.he, main_desc, p.main.gender};
  const Referent friend_ref{p.friend_.name, fp.he, friend_desc, p.friend_.gender};
  const std::string parent_helper = std::string(mp.his) + " " + p.parent;
  std::string the_obj;
  // The slots that read the world, set again before every part: a pronoun or a name by
  // the sentence before, the feeling and the object as they are now.
  auto read_world = [&] {
    slots[kWho] = refer(main_ref, friend_ref, text, rng);
    slots[kFwho] = refer(friend_ref, main_ref, text, rng);
    slots[kFeel] = rng.pick(mood_words(world.mood));
    slots[kHere] = world.here;
    const std::string& obj = p.object->word;
    const uint32_t u = rng.below(3);
    switch (world.object) {
      case ObjectState::Lost: the_obj = u == 0 ? "the lost " + obj : u == 1 ? std::string(mp.his) + " " + obj : "the " + obj; break;
      case ObjectState::Broken: the_obj = u == 0 ? "the broken " + obj : u == 1 ? std::string(mp.his) + " " + obj : "the " + obj; break;
      case ObjectState::Stuck: the_obj = u == 0 ? std::string(fp.his) + " " + obj : "the " + obj; break;
      default: the_obj = u == 0 && world.main_has_object ? std::string(mp.his) + " " + obj : "the " + obj; break;
    }
    slots[kTheObj] = the_obj;
    slots[kHelper] = world.helper == 1 ? std::string_view(parent_helper) : std::string_view(p.friend_.name);
  };
  auto say = [&](const std::string& section) {
    if (!text.empty() && text.back() != '\n') text += ' ';
    read_world();
    grammar_.expand(grammar_.section(section), rng, slots, text, &lists_);
  };
  // The sentences built clause by clause (clause.h) read the same world, through a Scene.
  const Clauses clauses(lists_);
  std::string reason;
  auto scene = [&] {
    read_world();
    reason = why(p, world, rng);
    Scene s;
    s.who = slots[kWho], s.name = p.main.name, s.he = mp.he, s.him = mp.him, s.his = mp.his;
    s.friend_name = p.friend_.name, s.friend_kind = p.friend_.kind, s.friend_trait = p.friend_.trait;
    s.parent = p.parent, s.here = world.here, s.feel = slots[kFeel], s.reason = reason;
    s.the_obj = the_obj, s.helper = slots[kHelper], s.object = world.object;
    return s;
  };
  auto build = [&](Construction c) { clauses.sentence(c, scene(), rng, text); };
  // A clause-built sentence of one of the kinds given, when the story has room for it
  // (drawn either way, like maybe()).
  auto maybe_build = [&](std::initializer_list<Construction> kinds, double chance, size_t room) {
    const bool wanted = rng.chance(chance);
    const Construction c = kinds.begin()[rng.below(uint32_t(kinds.size()))];
    if (wanted && text.size() < room) build(c);
  };
  auto paragraph = [&] { text += "\n\n"; };
  // An optional part, when the story still has room for it: TinyStories' stories stay
  // under about 250 words, and the ending and moral must still fit. The chance is drawn
  // either way, so the draws that follow do not depend on the length.
  auto maybe = [&](const std::string& section, double chance, size_t room) {
    bool wanted = rng.chance(chance);
    if (wanted && text.size() < room) say(section);
  };
  const bool bad = p.has(Feature::BadEnding);
  const NounKind k = p.noun->kind;
  const AdjUse use = p.adjective->use;
  const bool adj_for_thing = use == AdjUse::Thing || (use == AdjUse::Both && rng.chance(0.5));

  // 1. Who, where, and (for required animals, people and nature) the word in its place.
  say("opening");
  const bool built_setting = rng.chance(0.65);  // the place told by a clause, or by a template
  maybe_build({Construction::Scenery, Construction::Perception}, built_setting ? 0.7 : 0, kOpeningBytes);
  maybe("setting", built_setting ? 0 : 0.6, kOpeningBytes);
  maybe("trait", 0.3, kOpeningBytes);
  if (rng.chance(0.4)) say("meet_friend");
  else clauses.meet(scene(), rng, text);
  maybe_build({Construction::Speech, Construction::Short, Construction::Narration}, 0.5, kOpeningBytes);
  if (p.has(Feature::Dialogue)) say("dialogue_open");
  // The required words, each in a clause of its own or in a template line.
  auto place_word = [&](const std::string& section, auto clause) {
    if (rng.chance(0.6)) clause(scene());
    else say(section);
  };
  auto noun_clause = [&](const Scene& s) { clauses.with_noun(*p.noun, s, rng, text); };
  if (k == NounKind::Animal && p.animal == p.noun->word) place_word("use_animal", noun_clause);
  if (k == NounKind::Person) place_word("use_person", noun_clause);
  if (k == NounKind::Nature) place_word("use_nature", noun_clause);
  if (!adj_for_thing)
    place_word("adj_being", [&](const Scene& s) { clauses.with_adjective(p.adjective->word, nullptr, s, rng, text); });
  if (p.has(Feature::Foreshadowing)) say("foreshadow");
  paragraph();

  // 2. The problem, which introduces the object and sets the goal; then the verb and
  // any conflict.
  if (rng.chance(0.4)) say(p.arc + "_problem");
  else clauses.arc_step(p.arc, ArcStep::Problem, *p.object, scene(), rng, text);
  world.start(p.arc);
  maybe_build({Construction::Feeling, Construction::Narration, Construction::Short}, 0.6, kProblemBytes);
  if (adj_for_thing)
    place_word("adj_thing", [&](const Scene& s) { clauses.with_adjective(p.adjective->word, p.object, s, rng, text); });
  place_word(p.verb->transitive ? "verb_t" : "verb_i", [&](const Scene& s) { clauses.with_verb(*p.verb, s, rng, text); });
  maybe("plan", 0.3, kProblemBytes);
  if (p.has(Feature::Conflict)) {
    say("conflict");
    if (!bad || rng.chance(0.5)) say("conflict_resolve");
  }

  // 3. What happens: the arc's first step, then events chosen from the state of the
  // world (each changes it) while there is room; short stories fold it into paragraph two.
  bool own_paragraph = p.has(Feature::PlotTwist) || p.has(Feature::Dialogue) || rng.chance(0.6);
  if (own_paragraph) paragraph();
  // The arc's first step: a template line, or the event it is told by a clause.
  static const std::map<std::string, Event> kFirstStep = {
      {"find", Event::Show}, {"lost", Event::Search}, {"want", Event::Work}, {"broken", Event::Try}, {"help", Event::Try}};
  if (rng.chance(0.4)) say(p.arc + "_event");
  else clauses.event(kFirstStep.at(p.arc), scene(), rng, text);
  const int events = 1 + int(rng.below(3));
  for (int i = 0; i < events; ++i) {
    Event e = world.choose(p.arc, rng);
    if (e == Event::Travel) {  // somewhere else for a while: a new place noun
      const auto& places = short_.nouns_of_kind[int(NounKind::Place)];
      const std::string& next = vocab_.nouns[size_t(rng.pick(places))].word;
      world.here = next == world.here ? p.place : next;
    }
    world.apply(e);
    const bool by_clause = rng.chance(0.85);
    const Construction detail = Construction(rng.below(kConstructions));
    const bool add_detail = rng.chance(0.45), short_beat = rng.chance(0.5);
    if (text.size() >= kEventBytes) continue;  // drawn either way, so what follows does not depend on the length
    if (by_clause) {
      clauses.event(e, scene(), rng, text);
    } else {
      std::string arc_section = std::string("ev_") + event_name(e) + "_" + p.arc;
      say(grammar_.has_section(arc_section) ? arc_section : std::string("ev_") + event_name(e));
    }
    if (add_detail) build(detail);
    if (short_beat) build(Construction::Short);
  }
  if (p.has(Feature::PlotTwist)) say("twist");
  if (p.has(Feature::Dialogue)) {
    say("dialogue_mid");
    build(Construction::Speech);
  }
  paragraph();

  // 4. The ending, happy or sad, which sets how everyone feels; 5. the moral.
  world.mood = bad ? Mood::Sad : Mood::Happy;
  if (rng.chance(0.4)) say(p.arc + (bad ? "_bad" : "_good"));
  else clauses.arc_step(p.arc, bad ? ArcStep::Bad : ArcStep::Good, *p.object, scene(), rng, text);
  maybe_build({Construction::Feeling}, 0.4, kEventBytes + 200);
  if (rng.chance(0.5)) say(bad ? "closing_bad" : "closing");
  else if (bad) {  // how they feel, in the plain words a sad ending is told by
    static const std::vector<std::string> kSad = {"sad", "upset", "worried", "lonely", "grumpy", "very sad"};
    Scene s = scene();
    s.feel = rng.pick(kSad);
    clauses.sentence(Construction::Feeling, s, rng, text);
  }
  else clauses.closing(scene(), rng, text);
  if (p.has(Feature::MoralValue)) {
    paragraph();
    say(bad ? "moral_bad" : "moral");
  }
  finish_text(text);
  return text;
}

Story StoryGenerator::generate(uint64_t seed, uint64_t index) const { return generate(seed, index, nullptr); }

Story StoryGenerator::generate(uint64_t seed, uint64_t index, const std::function<void(StoryPlan&)>& edit_plan) const {
  uint64_t s = seed ^ (index * 0xD1B54A32D192ED03ull);
  Rng rng(splitmix64(s));
  Story story;
  story.plan = draw_plan(rng);
  if (edit_plan) edit_plan(story.plan);
  const StoryPlan& p = story.plan;

  const auto& mp = pronouns(p.main.gender);
  const auto& fp = pronouns(p.friend_.gender);
  const auto& pp = pronouns(p.parent_gender());
  const auto& tadj = vocab_.adjectives[rng.pick(vocab_.thing_adjectives)].word;
  const auto& badj = vocab_.adjectives[rng.pick(vocab_.being_adjectives)].word;
  std::array<std::string, kNumSlots> val;
  val[kName] = p.main.name, val[kHe] = mp.he, val[kHim] = mp.him, val[kHis] = mp.his, val[kHimself] = mp.himself;
  val[kFriend] = p.friend_.name, val[kFhe] = fp.he, val[kFhim] = fp.him, val[kFhis] = fp.his;
  val[kParent] = p.parent, val[kPhe] = pp.he, val[kPhim] = pp.him, val[kPhis] = pp.his;
  val[kKind] = p.main.kind, val[kFkind] = p.friend_.kind;
  val[kObj] = p.object->word;
  val[kAObj] = with_article(p.object->word, p.object->mass);
  val[kATadjObj] = with_article(tadj + " " + p.object->word, p.object->mass);
  val[kAAdjObj] = with_article(p.adjective->word + " " + p.object->word, p.object->mass);
  val[kPlace] = p.place, val[kAnimal] = p.animal, val[kAAnimal] = with_article(p.animal, false);
  val[kPerson] = p.person, val[kAPerson] = with_article(p.person, false);
  val[kNature] = p.nature;
  val[kANature] = with_article(p.nature, p.noun->kind == NounKind::Nature && p.noun->mass);
  val[kAdj] = p.adjective->word, val[kTadj] = tadj, val[kBadj] = badj;
  val[kVerb] = p.verb->base, val[kVerbed] = p.verb->past;
  val[kArticle] = std::string(1, kArticleMark);
  val[kTrait] = p.main.trait, val[kFtrait] = p.friend_.trait;
  val[kFood] = p.food->word, val[kAFood] = with_article(p.food->word, p.food->mass);
  val[kToy] = p.toy->word, val[kAToy] = with_article(p.toy->word, p.toy->mass);
  std::array<std::string_view, kNumSlots> slots;
  val[kWho] = p.main.name, val[kFwho] = p.friend_.name, val[kFeel] = "happy", val[kHere] = p.place;
  val[kTheObj] = "the " + p.object->word, val[kHelper] = p.friend_.name;
  for (int i = 0; i < kNumSlots; ++i) slots[i] = val[i];

  story.text = write_text(p, rng, slots.data());
  for (int i = 0; i < kNumSlots; ++i) slots[i] = val[i];  // the summary reads the plan, not the world
  story.words = {p.noun->word, p.verb->base, p.adjective->word};

  grammar_.expand(grammar_.section("summary_" + p.arc + (p.has(Feature::BadEnding) ? "_bad" : "_good")), rng,
                  slots.data(), story.summary, &lists_);
  finish_text(story.summary);
  auto sentences = split_sentences(story.text);
  story.sentence = sentences.empty() ? std::string() : sentences[rng.below(uint32_t(sentences.size()))];

  story.prompt = "Write a short story (3-5 paragraphs) which only uses very simple words that a 3 year old child "
                 "would likely understand. The story should use the verb \"" + p.verb->base + "\", the noun \"" +
                 p.noun->word + "\" and the adjective \"" + p.adjective->word + "\".";
  if (!p.features.empty()) {
    story.prompt += " The story has the following features: ";
    for (size_t i = 0; i < p.features.size(); ++i)
      story.prompt += std::string(i ? (i + 1 == p.features.size() ? " and " : ", ") : "") + feature_request(p.features[i]);
    story.prompt += ".";
  }
  story.prompt += " Remember to only use simple words!";
  return story;
}

void finish_text(std::string& text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool cap = true;  // the next letter starts a sentence
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == kArticleMark || c == kCapitalArticleMark) {
      size_t j = i + 1;
      while (j < text.size() && text[j] == ' ') ++j;
      size_t e = j;
      while (e < text.size() && (is_ascii_alpha(text[e]) || text[e] == '-')) ++e;
      std::string art = indefinite_article(std::string_view(text).substr(j, e - j));
      if (cap || c == kCapitalArticleMark) art[0] = ascii_upper(art[0]);
      cap = false;
      out += art;
      continue;
    }
    if (is_ascii_alpha(c)) {
      out.push_back(cap ? ascii_upper(c) : c);
      cap = false;
      continue;
    }
    out.push_back(c);
    if (c == '.' || c == '!' || c == '?' || c == '\n') {
      cap = true;
    } else if (c == '"') {
      bool opening = out.size() == 1 || out[out.size() - 2] == ' ' || out[out.size() - 2] == '\n';
      // A closing quote is followed by "said Tom", not a new sentence; a quote opened
      // after a comma goes on with the sentence it continues: "No," said Tom, "but...".
      bool continues = out.size() >= 3 && out[out.size() - 2] == ' ' && out[out.size() - 3] == ',';
      cap = opening && !continues;
    }
  }
  text = std::move(out);
}

std::vector<std::string> split_sentences(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  bool in_quote = false;
  auto push = [&](size_t end) {
    while (start < end && (text[start] == ' ' || text[start] == '\n')) ++start;
    if (end > start) out.emplace_back(text.substr(start, end - start));
    start = end;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      in_quote = !in_quote;
      if (in_quote || i == 0 || (text[i - 1] != '.' && text[i - 1] != '!' && text[i - 1] != '?')) continue;
      size_t j = i + 1;  // "Hi!" said Tom. -- a dialogue tag keeps the sentence going
      while (j < text.size() && text[j] == ' ') ++j;
      if (j < text.size() && text[j] >= 'a' && text[j] <= 'z') continue;
      push(i + 1);
    } else if (!in_quote && (c == '.' || c == '!' || c == '?') &&
               (i + 1 == text.size() || text[i + 1] == ' ' || text[i + 1] == '\n')) {
      push(i + 1);
    }
  }
  push(text.size());
  return out;
}

}  // namespace slm::stories
