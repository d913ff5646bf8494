#include "slm/stories/clause.h"

#include <vector>

#include "slm/stories/word_lists.h"

namespace slm::stories {

namespace {

// The closed-class words of the constructions: few, and each used in many sentences, so
// they are kept short and plain. The open-class words (nouns, verbs, adjectives) come
// from the vocabulary's word lists, a fresh one at each use.
const std::vector<std::string> kOpeners = {
    "After a while,", "A moment later,", "Just then,", "All at once,", "For a while,", "That afternoon,",
    "Later that day,", "Soon after,", "Right then,", "At first,", "Before long,", "Once again,", "Then", "Next,",
    "For a little while,", "A bit later,", "In a flash,", "With a little sigh,", "With a big smile,",
    "Without a word,", "Bit by bit,", "Little by little,", "On the way,", "All the while,", "Now", "Soon",
    "After that,", "Still,", "Meanwhile,", "By then,", "For a minute,", "Quick as a wink,"};
const std::vector<std::string> kManners = {
    "slowly", "quickly", "quietly", "softly", "gently", "happily", "carefully", "bravely", "loudly", "proudly",
    "calmly", "busily", "boldly", "shyly", "with care", "on tiptoe", "in a hurry", "with a grin", "all alone",
    "for a while", "again and again", "as fast as a fox", "like a little mouse", "with a hop"};
// Prepositions of one word mostly: a fixed run of three ("on top of a") repeats itself
// in every sentence that draws it.
const std::vector<std::string> kNear = {"by", "near", "under", "behind", "beside", "next to", "below", "inside",
                                        "around", "beneath", "past", "on", "over"};
const std::vector<std::string> kAtPlace = {"at the", "in the", "near the", "outside the", "around the"};
const std::vector<std::string> kPath = {"across", "along", "past", "over", "around", "through", "up", "down",
                                        "toward", "beside"};
const std::vector<std::string> kMove = {"walked", "skipped", "hurried", "wandered", "ran", "marched",
                                        "tiptoed", "hopped", "raced", "strolled", "trotted", "went"};
const std::vector<std::string> kSee = {"saw", "spotted", "noticed", "watched", "heard", "found"};
const std::vector<std::string> kSaidStatement = {"said", "whispered", "called", "added", "answered", "told everyone"};
const std::vector<std::string> kSaidExclaim = {"cried", "shouted", "called", "laughed", "yelled", "sang", "giggled"};
const std::vector<std::string> kSaidQuestion = {"asked", "wondered", "whispered", "called"};
const std::vector<std::string> kTagTail = {"with a smile", "with a grin", "softly", "happily", "quietly",
                                           "with a laugh", "in a small voice", "in a big voice", "at once"};
const std::vector<std::string> kSearch = {"looked", "searched", "hunted", "peeked", "checked"};
const std::vector<std::string> kRest = {"sat down", "lay down", "stopped to rest", "took a nap"};
const std::vector<std::string> kEat = {"ate", "munched on", "nibbled on", "shared"};
const std::vector<std::string> kMeet = {"met", "came across", "ran into", "bumped into"};
const std::vector<std::string> kEvening = {"That night,", "That evening,", "At bedtime,", "After dinner,",
                                           "Later that night,", "Before bed,", "At sunset,", "When the stars came out,",
                                           "When it got dark,", "At the end of the day,", "After supper,"};
const std::vector<std::string> kUntil = {"until dark", "until dinner", "until the sun went down", "until bedtime",
                                        "until the sky turned pink"};
const std::vector<std::string> kLaughed = {"laughed", "talked", "giggled", "sang"};
const std::vector<std::string> kComfort = {"hugged", "patted", "held", "cuddled", "smiled at", "sat with"};
const std::vector<std::string> kGrab = {"grabbed", "took", "snatched", "stole"};
const std::vector<std::string> kTracks = {"tiny", "small", "muddy", "little", "odd", "long"};
const std::vector<std::string> kAsk = {"asked", "begged", "called to"};
const std::vector<std::string> kAgreed = {"said yes", "came at once", "nodded", "came to help", "smiled and said yes"};
const std::vector<std::string> kNoLuck = {"it did not work", "that did not help", "it was no use", "it was too hard",
                                          "nothing happened"};
const std::vector<std::string> kFetch = {"fetched", "found", "grabbed", "got"};
const std::vector<std::string> kSoMuch = {"a little", "very", "so", "quite", "really", "", "", ""};

// A separator before a new sentence: a space unless the text is empty or ends a line.
void start_sentence(std::string& out) {
  if (!out.empty() && out.back() != '\n' && out.back() != ' ') out += ' ';
}

void add(std::string& out, std::string_view w) {
  if (w.empty()) return;
  if (!out.empty() && out.back() != ' ' && out.back() != '\n' && out.back() != '"') out += ' ';
  out += w;
}

void article(std::string& out) { add(out, std::string_view(&kArticleMark, 1)); }

}  // namespace

const std::string& Clauses::word(int list, Rng& rng) const { return rng.pick((*lists_)[size_t(list)]); }

void Clauses::thing_np(Rng& rng, std::string& out) const {
  static const int kSingular[] = {kLThing, kLToy, kLFood, kLThing, kLToy};
  static const int kPlural[] = {kLThings, kLToys, kLFoods, kLNatures};
  const uint32_t u = rng.below(10);
  const bool adjective = rng.chance(0.55);
  if (u < 6) {  // one of them: "a red cup", "the old drum"
    if (u < 4) article(out);
    else add(out, "the");
    if (adjective) add(out, word(kLTadj, rng));
    add(out, word(kSingular[rng.below(5)], rng));
  } else {      // more of them, or some of a mass: "some pebbles", "lots of sand"
    add(out, u < 8 ? "some" : "lots of");
    if (adjective) add(out, word(kLTadj, rng));
    add(out, word(kPlural[rng.below(4)], rng));
  }
}

void Clauses::being_np(Rng& rng, std::string& out) const {
  const uint32_t u = rng.below(10);
  const bool adjective = rng.chance(0.6);
  if (u < 7) {
    article(out);
    if (adjective) add(out, word(kLBadj, rng));
    add(out, word(u < 5 ? kLAnimal : kLPerson, rng));
  } else {
    add(out, u < 9 ? "two" : "some");
    if (adjective) add(out, word(kLBadj, rng));
    add(out, word(kLAnimals, rng));
  }
}

void Clauses::place_pp(const Scene& s, Rng& rng, std::string& out) const {
  const uint32_t u = rng.below(10);
  if (u < 2 && !s.here.empty()) {  // somewhere in the place they are
    add(out, rng.pick(kAtPlace));
    add(out, s.here);
    return;
  }
  add(out, rng.pick(kNear));
  if (rng.chance(0.6)) article(out);
  else add(out, "the");
  if (rng.chance(0.5)) add(out, word(kLTadj, rng));
  add(out, word(u < 6 ? kLNature : kLThing, rng));
}

void Clauses::path_pp(Rng& rng, std::string& out) const {
  if (rng.chance(0.3)) {
    add(out, "to the");
    add(out, word(kLPlace, rng));
    return;
  }
  add(out, rng.pick(kPath));
  add(out, "the");
  if (rng.chance(0.4)) add(out, word(kLTadj, rng));
  add(out, word(kLNature, rng));
}

void Clauses::opener(Rng& rng, std::string& out) const { add(out, rng.pick(kOpeners)); }

void Clauses::manner(Rng& rng, std::string& out) const { add(out, rng.pick(kManners)); }

// What the main character does: a verb with its object or its adverbials, sometimes two
// joined by "and".
void Clauses::action_vp(const Scene& s, Rng& rng, std::string& out) const {
  auto one = [&](bool short_form) {
    switch (rng.below(5)) {
      case 0:  // "hopped slowly by a tall rock"
        add(out, word(kLVied, rng));
        if (rng.chance(0.5)) manner(rng, out);
        if (!short_form || rng.chance(0.5)) place_pp(s, rng, out);
        break;
      case 1:  // "washed a red cup near the pond"
        add(out, word(kLVted, rng));
        thing_np(rng, out);
        if (!short_form && rng.chance(0.5)) place_pp(s, rng, out);
        break;
      case 2:  // "began to sing under a tree"
        add(out, rng.chance(0.5) ? "began to" : "wanted to");
        add(out, word(kLVi, rng));
        if (!short_form) place_pp(s, rng, out);
        break;
      case 3:  // "tried to lift a big box"
        add(out, rng.chance(0.5) ? "tried to" : "wanted to");
        add(out, word(kLVt, rng));
        thing_np(rng, out);
        break;
      default:  // "skipped quickly across the field"
        add(out, rng.pick(kMove));
        if (rng.chance(0.4)) manner(rng, out);
        path_pp(rng, out);
        break;
    }
  };
  one(false);
  if (rng.chance(0.3)) {
    add(out, "and");
    one(true);
  }
}

void Clauses::quote(const Scene& s, bool from_main, Rng& rng, std::string& out, char& end) const {
  const std::string_view to = from_main ? s.friend_name : s.name;  // who is spoken to
  auto vocative = [&] {
    if (rng.chance(0.3)) out += ", ", out += to;
  };
  switch (rng.below(from_main ? 9 : 8)) {
    case 0:
      out += "Look at that";
      if (rng.chance(0.6)) add(out, word(kLBadj, rng));
      add(out, word(kLAnimal, rng));
      vocative(), end = '!';
      break;
    case 1: case 4: {  // "Can we wash a red cup?" "I want to hold some shells."
      const bool ask = rng.chance(0.5);
      out += ask ? "Can we" : "I want to";
      add(out, word(kLVt, rng));
      thing_np(rng, out);
      if (ask) vocative();
      end = ask ? '?' : '.';
      break;
    }
    case 2:
      out += "Do you see";
      being_np(rng, out);
      add(out, word(kLVing, rng));
      place_pp(s, rng, out);
      end = '?';
      break;
    case 3:
      out += "Let's";
      if (rng.chance(0.5)) add(out, word(kLVi, rng)), place_pp(s, rng, out);
      else add(out, "go to the"), add(out, word(kLPlace, rng));
      vocative(), end = '!';
      break;
    case 5:
      out += "What";
      article(out);
      add(out, word(kLTadj, rng));
      add(out, word(rng.chance(0.5) ? kLThing : kLToy, rng));
      end = '!';
      break;
    case 6:
      out += "I like";
      add(out, word(kLFoods, rng));
      add(out, "and");
      add(out, word(kLToys, rng));
      vocative(), end = '.';
      break;
    case 7:
      out += "There is";
      article(out);
      if (rng.chance(0.5)) add(out, word(kLTadj, rng));
      add(out, word(kLThing, rng));
      place_pp(s, rng, out);
      end = '!';
      break;
    default:  // only the main character says how they feel
      out += "I feel";
      add(out, s.feel);
      if (rng.chance(0.5)) add(out, rng.chance(0.5) ? "today" : "right now");
      vocative(), end = '.';
      break;
  }
}

void Clauses::sentence(Construction c, const Scene& s, Rng& rng, std::string& out) const {
  start_sentence(out);
  const std::string_view he = s.he;
  switch (c) {
    case Construction::Scenery: {
      const uint32_t u = rng.below(4);
      if (u == 0) {  // "Near a big rock, a fat duck sat quietly."
        place_pp(s, rng, out);
        out += ',';
        being_np(rng, out);
        add(out, word(kLVied, rng));
        if (rng.chance(0.5)) manner(rng, out);
      } else if (u == 1) {  // "There were some red pebbles by the gate."
        out += "There were";
        add(out, rng.chance(0.5) ? "some" : "lots of");
        if (rng.chance(0.6)) add(out, word(kLTadj, rng));
        add(out, word(rng.chance(0.5) ? kLNatures : kLThings, rng));
        place_pp(s, rng, out);
      } else {  // "A fat duck was paddling under the old bridge."
        const size_t at = out.size();
        being_np(rng, out);
        const std::string_view np = std::string_view(out).substr(at);
        add(out, np.find("two ") != np.npos || np.find("some ") != np.npos ? "were" : "was");
        add(out, word(kLVing, rng));
        place_pp(s, rng, out);
      }
      out += '.';
      break;
    }
    case Construction::Action:
      if (rng.chance(0.5)) opener(rng, out);
      add(out, s.who);
      action_vp(s, rng, out);
      if (rng.chance(0.25)) {  // "..., so she sat down by a log."
        out += ", so";
        add(out, he);
        action_vp(s, rng, out);
      }
      out += '.';
      break;
    case Construction::Perception:
      if (rng.chance(0.3)) {  // "As she walked past the hill, she saw a frog sitting on a log."
        add(out, "As");
        add(out, s.who);
        add(out, rng.pick(kMove));
        path_pp(rng, out);
        out += ',';
        add(out, he);
      } else {
        if (rng.chance(0.4)) opener(rng, out);
        add(out, s.who);
      }
      add(out, rng.pick(kSee));
      being_np(rng, out);
      add(out, word(kLVing, rng));
      place_pp(s, rng, out);
      out += '.';
      break;
    case Construction::Feeling: {
      const uint32_t u = rng.below(3);
      if (u == 0 && !s.the_obj.empty()) {  // "When she thought of her kite, she felt sad."
        add(out, "When");
        add(out, s.who);
        add(out, rng.chance(0.5) ? "thought of" : "thought about");
        add(out, s.the_obj);
        out += ',';
        add(out, he);
      } else {
        add(out, s.who);
      }
      const bool plain = s.feel == "better" || s.feel == "ready" || s.feel.find(' ') != std::string_view::npos;
      add(out, rng.chance(0.5) ? "felt" : "was");
      if (!plain) add(out, rng.pick(kSoMuch));
      add(out, s.feel);
      if (u != 0 && !s.reason.empty() && rng.chance(0.6)) {
        out += ", because";
        add(out, s.reason);
      } else if (u != 0) {
        out += rng.chance(0.5) ? ", so" : ", but";
        add(out, he);
        action_vp(s, rng, out);
      }
      out += '.';
      break;
    }
    case Construction::Narration: {
      const uint32_t u = rng.below(s.object == ObjectState::Lost ? 5 : 4);
      if (u == 0) {  // "What a big shell it was!"
        add(out, "What");
        article(out);
        add(out, word(kLTadj, rng));
        add(out, word(rng.chance(0.5) ? kLThing : kLNature, rng));
        add(out, "it was!");
      } else if (u == 1) {  // "How fluffy the lamb looked!"
        add(out, "How");
        add(out, word(kLBadj, rng));
        add(out, "the");
        add(out, word(kLAnimal, rng));
        add(out, rng.chance(0.5) ? "looked!" : "was!");
      } else if (u == 2) {  // "Who had left a red cup by the gate?"
        add(out, "Who had left");
        thing_np(rng, out);
        place_pp(s, rng, out);
        out += '?';
      } else if (u == 3) {  // "What was that goat doing behind the barn?"
        add(out, "What was that");
        add(out, word(kLAnimal, rng));
        add(out, "doing");
        place_pp(s, rng, out);
        out += '?';
      } else {  // "Was her kite under a big rock?"
        add(out, rng.chance(0.5) ? "Was" : "Could");
        const bool could = out.back() == 'd';
        add(out, s.the_obj);
        if (could) add(out, "be");
        place_pp(s, rng, out);
        out += '?';
      }
      break;
    }
    case Construction::Speech: {
      const bool from_main = rng.chance(0.6);
      const std::string_view speaker = from_main ? s.who : s.friend_name;
      std::string q;
      char end = '.';
      quote(s, from_main, rng, q, end);
      const std::vector<std::string>& verbs = end == '?' ? kSaidQuestion : end == '!' ? kSaidExclaim : kSaidStatement;
      const std::string& verb = rng.pick(verbs);
      if (rng.chance(0.3)) {  // Mia said, "Let's go to the farm!"
        add(out, speaker);
        add(out, verb);
        out += ", \"";
        out += q;
        out += end;
        out += '"';
      } else {  // "Let's go to the farm!" Mia cried, feeling glad.
        out += '"';
        out += q;
        out += end == '.' ? ',' : end;
        out += '"';
        add(out, speaker);
        add(out, verb);
        if (from_main && rng.chance(0.3)) {
          out += ", feeling";
          add(out, s.feel);
        } else if (rng.chance(0.4)) {
          add(out, rng.pick(kTagTail));
        }
        out += '.';
      }
      break;
    }
  }
}

void Clauses::closing(const Scene& s, Rng& rng, std::string& out) const {
  start_sentence(out);
  add(out, rng.pick(kEvening));
  add(out, s.who);
  switch (rng.below(5)) {
    case 0:  // "told her mom about a fat duck swimming by the pond"
      add(out, "told"), add(out, s.his), add(out, s.parent), add(out, "about");
      being_np(rng, out);
      add(out, word(kLVing, rng));
      place_pp(s, rng, out);
      break;
    case 1:  // "drew a red kite for Tom and put it by the bed"
      add(out, "drew");
      thing_np(rng, out);
      add(out, "for"), add(out, s.friend_name);
      break;
    case 2:  // "fell asleep by a soft pillow, dreaming of plums and drums"
      add(out, "fell asleep");
      if (rng.chance(0.5)) place_pp(s, rng, out);
      out += ", dreaming of";
      add(out, word(rng.chance(0.5) ? kLAnimals : kLToys, rng));
      add(out, "and");
      add(out, word(kLFoods, rng));
      break;
    case 3:  // "and Tom sang by the pond until dark"
      add(out, "and"), add(out, s.friend_name);
      add(out, word(kLVied, rng));
      place_pp(s, rng, out);
      add(out, rng.pick(kUntil));
      break;
    default:  // "ate some pies with his dad and laughed about the day"
      add(out, "ate some");
      add(out, word(kLFoods, rng));
      add(out, "with"), add(out, s.his), add(out, s.parent);
      if (rng.chance(0.5)) add(out, "and"), add(out, rng.pick(kLaughed)), add(out, "about"), being_np(rng, out);
      break;
  }
  out += '.';
}

void Clauses::any(const Scene& s, Rng& rng, std::string& out) const {
  sentence(Construction(rng.below(kConstructions)), s, rng, out);
}

bool Clauses::event(Event e, const Scene& s, Rng& rng, std::string& out) const {
  start_sentence(out);
  if (e == Event::Cheer) {  // the helper speaks first: "Tom hugged Mia gently, and Mia felt better."
    add(out, s.helper);
    add(out, rng.pick(kComfort)), add(out, s.name);
    if (rng.chance(0.5)) manner(rng, out);
    out += ", and";
    add(out, s.name), add(out, "felt"), add(out, s.feel);
    out += '.';
    return true;
  }
  if (e == Event::Setback && rng.chance(0.4)) {  // "But a fat goat grabbed her cup and ran off past the hill."
    add(out, "But");
    being_np(rng, out);
    add(out, rng.pick(kGrab)), add(out, s.his), add(out, word(kLThing, rng));
    add(out, "and ran off");
    path_pp(rng, out);
    out += '.';
    return true;
  }
  if (e == Event::Setback) add(out, "But");
  else if (rng.chance(0.35)) opener(rng, out);
  add(out, s.who);
  switch (e) {
    case Event::Search:  // "She peeked behind a big box for her kite, but found only some socks."
      add(out, rng.pick(kSearch));
      place_pp(s, rng, out);
      if (rng.chance(0.5)) add(out, "for"), add(out, s.the_obj);
      out += ", but";
      add(out, s.he), add(out, "found only");
      thing_np(rng, out);
      break;
    case Event::Clue:  // "Mia saw tiny tracks by a rock and followed them past the hill."
      add(out, rng.pick(kSee)), add(out, rng.pick(kTracks)), add(out, "tracks");
      place_pp(s, rng, out);
      add(out, "and followed them");
      path_pp(rng, out);
      break;
    case Event::Ask:  // "Mia asked her mom for help by the gate, and her mom said yes."
      add(out, rng.pick(kAsk)), add(out, s.helper), add(out, "for help");
      if (rng.chance(0.5)) add(out, "with"), add(out, s.the_obj);
      else place_pp(s, rng, out);
      out += ", and";
      add(out, s.helper), add(out, rng.pick(kAgreed));
      break;
    case Event::Try:  // "Mia tried to fix her kite with a red cup, but it did not work."
      add(out, "tried to");
      add(out, s.object == ObjectState::Broken ? "fix" : s.object == ObjectState::Wanted ? "reach" : "get");
      add(out, s.the_obj), add(out, "with");
      thing_np(rng, out);
      out += ", but";
      add(out, rng.pick(kNoLuck));
      break;
    case Event::Tool:  // "Mia fetched a long rope from behind the barn to help with the kite."
      add(out, rng.pick(kFetch));
      thing_np(rng, out);
      place_pp(s, rng, out);
      add(out, "to help with"), add(out, s.the_obj);
      break;
    case Event::Work:  // "Mia washed some cups for a kind baker and got a coin."
      add(out, word(kLVted, rng));
      thing_np(rng, out);
      add(out, "for");
      article(out);
      if (rng.chance(0.5)) add(out, word(kLBadj, rng));
      add(out, word(kLPerson, rng));
      add(out, rng.chance(0.5) ? "and got a coin" : "and earned a coin");
      break;
    case Event::Wait:  // "Mia waited by the gate and watched two goats playing."
      add(out, rng.chance(0.5) ? "waited" : "sat and waited");
      place_pp(s, rng, out);
      add(out, "and watched");
      being_np(rng, out);
      add(out, word(kLVing, rng));
      break;
    case Event::Show:  // "Mia showed her kite to a kind baker by the gate."
      add(out, "showed"), add(out, s.the_obj), add(out, "to");
      being_np(rng, out);
      place_pp(s, rng, out);
      break;
    case Event::Rest:  // "Mia sat down under a tall tree, because she was so tired."
      add(out, rng.pick(kRest));
      place_pp(s, rng, out);
      if (rng.chance(0.5)) {
        out += ", because";
        add(out, s.he), add(out, "was so tired");
      } else {
        add(out, "and watched");
        being_np(rng, out);
        add(out, word(kLVing, rng));
      }
      break;
    case Event::Eat:  // "Mia munched on some plums by the gate, because she was hungry."
      add(out, rng.pick(kEat));
      if (rng.chance(0.5)) article(out), add(out, word(kLFood, rng));
      else add(out, "some"), add(out, word(kLFoods, rng));
      place_pp(s, rng, out);
      if (rng.chance(0.5)) {
        out += ", because";
        add(out, s.he), add(out, "was hungry");
      } else {
        add(out, rng.chance(0.5) ? "and felt much better" : "and smiled");
      }
      break;
    case Event::Travel:  // "Then he skipped slowly across the hill to the farm."
      add(out, rng.pick(kMove));
      if (rng.chance(0.4)) manner(rng, out);
      if (rng.chance(0.6)) {
        add(out, rng.pick(kPath));
        add(out, "the");
        add(out, word(kLNature, rng));
      }
      add(out, "to the");
      add(out, s.here);
      break;
    case Event::Setback:  // "But Mia tripped over a red box by the pond and hurt her knee."
      add(out, rng.chance(0.5) ? "tripped over" : "slipped on");
      thing_np(rng, out);
      place_pp(s, rng, out);
      add(out, "and hurt"), add(out, s.his), add(out, rng.chance(0.5) ? "knee" : "hand");
      break;
    default:  // Meet: "Mia met a kind baker who was sitting by the gate."
      add(out, rng.pick(kMeet));
      article(out);
      if (rng.chance(0.6)) add(out, word(kLBadj, rng));
      add(out, word(rng.chance(0.5) ? kLAnimal : kLPerson, rng));
      if (rng.chance(0.5)) add(out, "who was");
      add(out, word(kLVing, rng));
      place_pp(s, rng, out);
      break;
  }
  out += '.';
  return true;
}

}  // namespace slm::stories
