#include "slm/stories/clause.h"

#include <vector>

#include "slm/stories/word_lists.h"
#include "slm/util/text.h"

namespace slm::stories {

namespace {

// The closed-class words of the constructions: few, and each used in many sentences, so
// they are kept short and plain. The open-class words (nouns, verbs, adjectives) come
// from the vocabulary's word lists, a fresh one at each use.
// Openers of one or two words: the subject after them varies, and a longer fixed run
// would repeat its four-word runs in every sentence that draws it.
const std::vector<std::string> kOpeners = {
    "After a while,", "Just then,", "All at once,", "For a while,", "That afternoon,", "Soon after,",
    "Right then,", "At first,", "Before long,", "Once again,", "Then", "Next,", "Later,", "Suddenly,", "Now",
    "Soon", "After that,", "Still,", "Once,", "By then,", "Quickly,", "Slowly,", "Then,", "At noon,",
    "That morning,", "Right away,", "Once more,", "Today,", "This time,", "At last,", "Sadly,", "Just now,"};
const std::vector<std::string> kManners = {
    "slowly", "quickly", "quietly", "softly", "gently", "happily", "carefully", "bravely", "loudly", "proudly",
    "calmly", "busily", "boldly", "shyly", "with care", "on tiptoe", "in a hurry", "with a grin", "all alone",
    "for a while", "twice", "fast", "hard", "a lot", "at once", "with a hop", "with a smile", "so well"};
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
                                           "with a laugh", "at once", "again", "loudly", "slowly", "shyly"};
const std::vector<std::string> kSearch = {"looked", "searched", "hunted", "peeked", "checked"};
const std::vector<std::string> kRest = {"sat down", "lay down", "stopped to rest", "took a nap"};
const std::vector<std::string> kEat = {"ate", "munched on", "nibbled on", "shared"};
const std::vector<std::string> kMeet = {"met", "came across", "ran into", "bumped into"};
const std::vector<std::string> kEvening = {"That night,", "That evening,", "At bedtime,", "After dinner,",
                                           "Later,", "Before bed,", "At sunset,", "At dusk,", "After supper,",
                                           "At home,", "Back home,", "By bedtime,"};
const std::vector<std::string> kTold = {"told", "asked", "sang to", "wrote to", "whispered to"};
const std::vector<std::string> kDreaming = {"dreaming of", "thinking of", "humming about", "smiling about"};
const std::vector<std::string> kFoundOnly = {"found", "saw", "got", "came upon", "dug up", "picked up"};
const std::vector<std::string> kHungry = {"was hungry", "was so hungry", "was very hungry", "felt hungry",
                                          "had not eaten", "needed food"};
const std::vector<std::string> kTired = {"was so tired", "was tired", "felt tired", "needed a rest", "was worn out"};
const std::vector<std::string> kToHelp = {"to help with", "to fix", "for", "to use on", "to try on"};
const std::vector<std::string> kGot = {"and got", "and earned", "for", "and was given"};
const std::vector<std::string> kPay = {"coin", "penny", "sticker", "button", "shell", "cookie", "badge"};
const std::vector<std::string> kStartTo = {"began to", "wanted to", "tried to", "hoped to", "started to", "liked to",
                                           "loved to", "learned to", "decided to", "went off to", "stopped to",
                                           "had to", "ran off to", "got up to"};
const std::vector<std::string> kLay = {"lay", "sat", "stood", "rested", "waited"};
const std::vector<std::string> kWhoHad = {"Who had left", "Who had dropped", "Who had hidden", "Who had put",
                                          "Why was there", "Who had lost", "Who could own", "Whose was"};
const std::vector<std::string> kDoing = {"doing", "watching", "carrying", "holding", "hiding", "eating"};
const std::vector<std::string> kDoYouSee = {"Do you see", "Can you see", "Did you see", "Look at", "Have you seen",
                                            "Is that"};
const std::vector<std::string> kUntil = {"until dark", "until dinner", "until bedtime", "until noon",
                                        "until lunch", "all day", "for hours", "till sunset", "all morning"};
const std::vector<std::string> kLaughed = {"laughed", "talked", "giggled", "sang"};
const std::vector<std::string> kComfort = {"hugged", "patted", "held", "cuddled", "smiled at", "sat with"};
const std::vector<std::string> kGrab = {"grabbed", "took", "snatched", "stole"};
const std::vector<std::string> kTracks = {"tiny", "small", "muddy", "little", "odd", "long"};
const std::vector<std::string> kAskFor = {"for help with", "to help with", "to look at", "to come and see",
                                          "what to do about", "to help find"};
const std::vector<std::string> kAsk = {"asked", "begged", "called to"};
const std::vector<std::string> kAgreed = {"said yes", "came at once", "nodded", "came to help", "said okay",
                                          "said of course", "came running", "was glad to help"};
const std::vector<std::string> kNoLuck = {"did not work", "did not help", "was no use", "made it worse",
                                          "broke too", "slipped", "fell down", "bent"};
const std::vector<std::string> kTooWhat = {"short", "small", "weak", "soft", "big", "light", "thin", "wide",
                                           "slow", "heavy", "flat", "round"};
const std::vector<std::string> kTried = {"tried to", "wanted to", "hoped to", "worked hard to"};
const std::vector<std::string> kMend = {"fix", "mend", "glue", "patch up", "repair"};
const std::vector<std::string> kReach = {"reach", "get", "grab", "free", "pull down", "lift", "move"};
const std::vector<std::string> kStuck = {"was stuck", "got stuck", "was caught", "hung"};
const std::vector<std::string> kUpIn = {"high up in", "on top of", "up in", "at the top of"};
const std::vector<std::string> kCouldNot = {"could not reach it", "could not get it", "began to cry", "called for help"};
const std::vector<std::string> kReachFor = {"reached for", "looked for", "went to get", "wanted to play with"};
const std::vector<std::string> kGone = {"was gone", "was not there", "was missing", "had vanished", "was lost"};
const std::vector<std::string> kDropped = {"dropped", "bumped", "sat on", "stepped on", "knocked over", "threw"};
const std::vector<std::string> kBroke = {"broke", "cracked", "snapped", "broke in two", "fell apart"};
const std::vector<std::string> kSoMuchWant = {"so much", "very much", "more than anything", "a lot", "badly"};
const std::vector<std::string> kFound = {"found", "spotted", "dug up", "came upon", "picked up", "noticed"};
const std::vector<std::string> kFixed = {"fixed", "mended", "glued", "patched up", "repaired"};
const std::vector<std::string> kWorked = {"worked again", "was as good as new", "was fine again", "looked new"};
const std::vector<std::string> kThanked = {"hugged", "thanked", "cheered for", "smiled at"};
const std::vector<std::string> kSadEnd = {"cried", "was sad", "felt sad", "was very sad", "cried all night",
                                          "felt so sad"};
const std::vector<std::string> kNearby = {"nearby", "close by", "too", "again", "somewhere", "far off", "above"};
const std::vector<std::string> kNotFixed = {"could not be fixed", "would not mend", "stayed broken", "broke again"};
const std::vector<std::string> kFetch = {"fetched", "found", "grabbed", "got"};
const std::vector<std::string> kReaction = {"smiled", "laughed", "felt proud", "clapped", "giggled", "grinned"};
const std::vector<std::string> kWantedTo = {"wanted to", "tried to", "learned to", "loved to", "hoped to"};
const std::vector<std::string> kHeldUp = {"held up", "looked at", "picked up", "showed everyone"};
const std::vector<std::string> kByNature = {"sat by", "looked at", "walked to", "played near", "ran to"};
const std::vector<std::string> kSoMuch = {"a little", "very", "so", "quite", "really", "", "", ""};

// Why, as a clause (", because she was tired") or, half the time, as a sentence of its own
// ("She was tired."): short sentences keep the reading grade low.
const char* because(Rng& rng) { return rng.chance(0.75) ? ", because" : "."; }

// Two clauses joined: ", but" / ", and", or, half the time, two sentences ("But",
// or nothing for "and"): short sentences keep the reading grade low.
void join(std::string& out, Rng& rng, const char* conj) {
  if (rng.chance(0.35)) {
    out += ", ", out += conj;
  } else {
    out += '.';
    if (conj[0] == 'b') out += " But";
  }
}

// A separator before a new sentence: a space unless the text is empty or ends a line.
void start_sentence(std::string& out) {
  if (!out.empty() && out.back() != '\n' && out.back() != ' ') out += ' ';
}

// Opens a sentence and, when it is done, gives it a capital: the finishing pass does
// so after . ! ?, but not after a closing quote, where a lowercase word is a dialogue
// tag ("Hi!" said Tom).
class SentenceStart {
 public:
  explicit SentenceStart(std::string& out) : out_(out) {
    start_sentence(out);
    at_ = out.size();
  }
  ~SentenceStart() {
    if (at_ >= out_.size()) return;
    char& c = out_[at_];
    if (c == kArticleMark) c = kCapitalArticleMark;
    else c = ascii_upper(c);
  }
  SentenceStart(const SentenceStart&) = delete;
  SentenceStart& operator=(const SentenceStart&) = delete;

 private:
  std::string& out_;
  size_t at_;
};

void add(std::string& out, std::string_view w) {
  if (w.empty()) return;
  if (!out.empty() && out.back() != ' ' && out.back() != '\n' && out.back() != '"') out += ' ';
  out += w;
}

void article(std::string& out) { add(out, std::string_view(&kArticleMark, 1)); }

}  // namespace

// A fresh word of a list, drawn again (three times at most) when it is longer than one syllable: the
// clauses bring many fresh words, and short ones keep the reading grade of a young child.
const std::string& Clauses::word(int list, Rng& rng) const {
  const auto& l = (*lists_)[size_t(list)];
  const std::string* w = &rng.pick(l);
  for (int again = 0; again < 3 && syllables(*w) > 1; ++again) w = &rng.pick(l);
  return *w;
}

// An adjective (with chance p) and a noun: "red cup", never "light light".
void Clauses::adj_noun(int adjectives, double p, int nouns, Rng& rng, std::string& out) const {
  const std::string* adj = rng.chance(p) ? &word(adjectives, rng) : nullptr;
  const std::string& noun = word(nouns, rng);
  if (adj && *adj != noun) add(out, *adj);
  add(out, noun);
}

void Clauses::thing_np(Rng& rng, std::string& out) const {
  static const int kSingular[] = {kLThing, kLToy, kLFood, kLThing, kLToy};
  static const int kPlural[] = {kLThings, kLToys, kLFoods, kLNatures};
  const uint32_t u = rng.below(10);
  if (u < 6) {  // one of them: "a red cup", "the old drum"
    if (u < 4) article(out);
    else add(out, "the");
    adj_noun(kLTadj, 0.3, kSingular[rng.below(5)], rng, out);
  } else {      // more of them, or some of a mass: "some pebbles", "lots of sand"
    add(out, u < 8 ? "some" : "lots of");
    adj_noun(kLTadj, 0.3, kPlural[rng.below(4)], rng, out);
  }
}

void Clauses::being_np(Rng& rng, std::string& out) const {
  const uint32_t u = rng.below(10);
  if (u < 7) {
    article(out);
    adj_noun(kLBadj, 0.3, u < 5 ? kLAnimal : kLPerson, rng, out);
  } else {
    add(out, u < 9 ? "two" : "some");
    adj_noun(kLBadj, 0.3, kLAnimals, rng, out);
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
  adj_noun(kLTadj, 0.35, u < 6 ? kLNature : kLThing, rng, out);
}

void Clauses::path_pp(Rng& rng, std::string& out) const {
  if (rng.chance(0.2)) {
    add(out, "to the");
    add(out, word(kLPlace, rng));
    return;
  }
  add(out, rng.pick(kPath));
  add(out, "the");
  adj_noun(kLTadj, 0.4, kLNature, rng, out);
}

// "... and watched" or "... . She watched": the main character goes on, in the same
// sentence or a new one.
void Clauses::and_then(const Scene& s, Rng& rng, std::string& out) const {
  if (rng.chance(0.5)) return add(out, "and");
  out += '.';
  add(out, s.he);
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
        add(out, rng.pick(kStartTo));
        add(out, word(kLVi, rng));
        if (!short_form) place_pp(s, rng, out);
        break;
      case 3:  // "tried to lift a big box"
        add(out, rng.pick(kStartTo));
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
  if (rng.chance(0.15)) {
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
      out += rng.pick(kDoYouSee);
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
  const SentenceStart start(out);
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
      } else if (u == 1) {  // "Some red pebbles lay by the gate." (a past verb agrees with both)
        add(out, rng.chance(0.5) ? "Some" : "Lots of");
        if (rng.chance(0.6)) add(out, word(kLTadj, rng));
        add(out, word(rng.chance(0.5) ? kLNatures : kLThings, rng));
        add(out, rng.pick(kLay));
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
      if (rng.chance(0.25)) opener(rng, out);
      add(out, s.who);
      action_vp(s, rng, out);
      if (rng.chance(0.1)) {  // "..., so she sat down by a log."
        out += ", so";
        add(out, he);
        action_vp(s, rng, out);
      }
      out += '.';
      break;
    case Construction::Perception:
      if (rng.chance(0.15)) {  // "As she walked past the hill, she saw a frog sitting on a log."
        add(out, "As");
        add(out, s.who);
        add(out, rng.pick(kMove));
        path_pp(rng, out);
        out += ',';
        add(out, he);
      } else {
        if (rng.chance(0.25)) opener(rng, out);
        add(out, s.who);
      }
      add(out, rng.pick(kSee));
      being_np(rng, out);
      add(out, word(kLVing, rng));
      if (rng.chance(0.7)) place_pp(s, rng, out);
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
        out += because(rng);
        add(out, s.reason);
      } else if (u != 0 && rng.chance(0.5)) {
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
        add(out, rng.chance(0.5) ? "looked!" : rng.chance(0.5) ? "was!" : "seemed!");
      } else if (u == 2) {  // "Who had left a red cup by the gate?"
        add(out, rng.pick(kWhoHad));
        thing_np(rng, out);
        place_pp(s, rng, out);
        out += '?';
      } else if (u == 3) {  // "What was that goat doing behind the barn?"
        add(out, "What was");
        add(out, rng.chance(0.5) ? "that" : "the");
        add(out, word(kLAnimal, rng));
        add(out, rng.pick(kDoing));
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
    case Construction::Short:  // "She giggled softly." "A goat sneezed nearby."
      if (rng.chance(0.6)) {
        add(out, s.who), add(out, word(kLVied, rng));
        if (rng.chance(0.5)) manner(rng, out);
      } else {
        article(out), add(out, word(kLAnimal, rng)), add(out, word(kLVied, rng)), add(out, rng.pick(kNearby));
      }
      out += rng.chance(0.8) ? '.' : '!';
      break;
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
        out += "\" ";
        out += speaker;
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
  const SentenceStart start(out);
  add(out, rng.pick(kEvening));
  add(out, s.who);
  switch (rng.below(5)) {
    case 0:  // "told her mom about a fat duck swimming"
      add(out, rng.pick(kTold)), add(out, s.his), add(out, s.parent), add(out, "about");
      being_np(rng, out);
      add(out, word(kLVing, rng));
      break;
    case 1:  // "drew a red kite for Tom and put it by the bed"
      add(out, "drew");
      thing_np(rng, out);
      add(out, "for"), add(out, s.friend_name);
      break;
    case 2:  // "fell asleep by a soft pillow, dreaming of plums and drums"
      add(out, "fell asleep");
      if (rng.chance(0.7)) place_pp(s, rng, out);
      out += ',';
      add(out, rng.pick(kDreaming));
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
      add(out, rng.pick(kEat)), add(out, "some");
      add(out, word(kLFoods, rng));
      add(out, "with"), add(out, s.his), add(out, s.parent);
      if (rng.chance(0.5)) add(out, "and"), add(out, rng.pick(kLaughed)), add(out, "about"), being_np(rng, out);
      break;
  }
  out += '.';
}

void Clauses::with_verb(const Verb& v, const Scene& s, Rng& rng, std::string& out) const {
  const SentenceStart start(out);
  const uint32_t u = rng.below(3);
  if (u == 0) {  // "When Mia hugged the kite, she smiled."
    add(out, "When"), add(out, s.who), add(out, v.past);
    if (v.transitive) add(out, s.the_obj);
    else place_pp(s, rng, out);
    out += ',';
    add(out, s.he), add(out, rng.pick(kReaction));
  } else if (u == 1) {  // "Mia wanted to hug the kite by the gate."
    add(out, s.who), add(out, rng.pick(kWantedTo)), add(out, v.base);
    if (v.transitive) add(out, s.the_obj);
    if (rng.chance(0.7)) place_pp(s, rng, out);
  } else {  // "Mia and Tom hopped happily across the hill." / "Mia hugged some shells by the pond."
    add(out, s.who);
    if (!v.transitive && rng.chance(0.5)) add(out, "and"), add(out, s.friend_name);
    add(out, v.past);
    if (v.transitive) thing_np(rng, out);
    else manner(rng, out);
    if (v.transitive || rng.chance(0.5)) place_pp(s, rng, out);
    else path_pp(rng, out);
  }
  out += '.';
}

void Clauses::with_adjective(std::string_view adj, const Noun* thing, const Scene& s, Rng& rng,
                             std::string& out) const {
  const SentenceStart start(out);
  const uint32_t u = rng.below(3);
  if (thing && u == 0) {  // "What a shiny kite it was!"
    add(out, "What");
    if (!thing->mass) article(out);
    add(out, adj), add(out, thing->word), add(out, "it was!");
    return;
  }
  if (thing) {  // "Mia held up the kite, which was so shiny." / "The kite looked shiny by the gate."
    if (u == 1) {
      add(out, s.who), add(out, rng.pick(kHeldUp)), add(out, "the"), add(out, thing->word);
      out += ", which was";
    } else {
      add(out, "The"), add(out, thing->word), add(out, rng.chance(0.5) ? "looked" : "was");
    }
    add(out, rng.pick(kSoMuch)), add(out, adj);
    if (u != 1) place_pp(s, rng, out);
    out += '.';
    return;
  }
  if (u == 0) {  // "Everyone at the park could see that Mia was brave."
    add(out, "Everyone");
    if (!s.here.empty()) add(out, "at the"), add(out, s.here);
    add(out, "could see that"), add(out, s.name), add(out, "was"), add(out, adj);
  } else {  // "Mia was so brave, and she hopped across the hill."
    add(out, s.who), add(out, "was"), add(out, rng.pick(kSoMuch)), add(out, adj);
    join(out, rng, "and");
    add(out, s.he);
    action_vp(s, rng, out);
  }
  out += '.';
}

void Clauses::with_noun(const Noun& n, const Scene& s, Rng& rng, std::string& out) const {
  const SentenceStart start(out);
  if (n.kind == NounKind::Nature) {  // "Mia sat by the river, and she sang softly."
    add(out, s.who), add(out, rng.pick(kByNature)), add(out, "the"), add(out, n.word);
    join(out, rng, "and");
    add(out, s.he);
    action_vp(s, rng, out);
    out += '.';
    return;
  }
  const bool seen = rng.chance(0.5);  // "Mia saw a fat duck swimming by a rock." / "A fat duck was..."
  if (seen) add(out, s.who), add(out, rng.pick(kSee));
  article(out);
  if (rng.chance(0.5)) add(out, word(kLBadj, rng));
  add(out, n.word);
  if (!seen) add(out, "was");
  add(out, word(kLVing, rng));
  if (rng.chance(0.7)) place_pp(s, rng, out);
  out += '.';
}

void Clauses::arc_step(std::string_view arc, ArcStep step, const Noun& obj, const Scene& s, Rng& rng,
                       std::string& out) const {
  const SentenceStart start(out);
  auto an_obj = [&] {  // "a shiny kite", "some milk"
    if (obj.mass) add(out, "some");
    else article(out);
    if (rng.chance(0.5)) add(out, word(kLTadj, rng));
    add(out, obj.word);
  };
  auto the_obj = [&] { add(out, "the"), add(out, obj.word); };
  if (step == ArcStep::Problem) {
    if (arc == "help") {  // "Tom's kite was stuck high up in a tall tree, and Tom could not reach it."
      add(out, s.friend_name), out += "'s", add(out, obj.word), add(out, rng.pick(kStuck));
      add(out, rng.pick(kUpIn));
      article(out);
      if (rng.chance(0.5)) add(out, word(kLTadj, rng));
      add(out, word(kLNature, rng));
      join(out, rng, "and"), add(out, s.friend_name), add(out, rng.pick(kCouldNot));
    } else if (arc == "lost") {  // "Mia reached for her kite by the gate, but it was gone."
      add(out, s.who), add(out, rng.pick(kReachFor)), add(out, s.his), add(out, obj.word);
      place_pp(s, rng, out);
      out += ", but";
      if (rng.chance(0.5)) add(out, "it");
      else add(out, "the"), add(out, obj.word);
      add(out, rng.pick(kGone));
    } else if (arc == "broken") {  // "Mia dropped her kite on a rock, and it broke."
      add(out, s.who), add(out, rng.pick(kDropped)), add(out, s.his), add(out, obj.word);
      place_pp(s, rng, out);
      out += ", and it", add(out, rng.pick(kBroke));
    } else if (arc == "want") {  // "Mia saw a shiny kite by the gate and wanted it so much."
      add(out, s.who), add(out, rng.pick(kSee));
      an_obj();
      place_pp(s, rng, out);
      add(out, "and wanted it"), add(out, rng.pick(kSoMuchWant));
    } else {  // find: "Mia found a shiny kite under a log."
      if (rng.chance(0.4)) opener(rng, out);
      add(out, s.who), add(out, rng.pick(kFound));
      an_obj();
      place_pp(s, rng, out);
    }
  } else if (step == ArcStep::Good) {
    if (arc == "find") {  // "Mia and Tom played with the kite by the pond until dark."
      add(out, s.who), add(out, "and"), add(out, s.friend_name), add(out, "played with");
      the_obj();
      place_pp(s, rng, out);
      add(out, rng.pick(kUntil));
    } else if (arc == "lost") {  // "At last, Mia found the kite behind a box, and she laughed."
      add(out, "At last,"), add(out, s.who), add(out, "found");
      the_obj();
      place_pp(s, rng, out);
      out += ", and", add(out, s.he), add(out, rng.pick(kReaction));
    } else if (arc == "want") {  // "In the end, Mia got the kite and took it across the hill."
      add(out, "In the end,"), add(out, s.who), add(out, "got");
      the_obj();
      add(out, "and took it");
      path_pp(rng, out);
    } else if (arc == "broken") {  // "Mia and Tom fixed the kite with some tape, and it worked again."
      add(out, s.who), add(out, "and"), add(out, s.helper), add(out, rng.pick(kFixed));
      the_obj();
      add(out, "with");
      thing_np(rng, out);
      out += ", and it", add(out, rng.pick(kWorked));
    } else {  // help: "Mia got the kite down with a long stick, and Tom hugged her."
      add(out, s.who), add(out, "got");
      the_obj();
      add(out, "down with");
      thing_np(rng, out);
      join(out, rng, "and"), add(out, s.friend_name), add(out, rng.pick(kThanked)), add(out, s.him);
    }
  } else {  // a sad ending, which says so in plain words
    if (arc == "find" || arc == "help") {  // "But a big goat took the kite and ran off past the hill, and Mia cried."
      add(out, "But");
      being_np(rng, out);
      add(out, rng.pick(kGrab));
      the_obj();
      add(out, "and ran off");
      path_pp(rng, out);
      join(out, rng, "and"), add(out, s.name), add(out, rng.pick(kSadEnd));
    } else if (arc == "lost") {  // "Mia searched by the pond until dark, but the kite was never found."
      add(out, s.who), add(out, rng.pick(kSearch));
      place_pp(s, rng, out);
      add(out, rng.pick(kUntil));
      join(out, rng, "but"), the_obj(), add(out, "was never found");
    } else if (arc == "want") {  // "But a kind baker got the kite first, and Mia cried."
      add(out, "But");
      article(out);
      if (rng.chance(0.5)) add(out, word(kLBadj, rng));
      add(out, word(kLPerson, rng)), add(out, "got");
      the_obj();
      add(out, "first, and"), add(out, s.name), add(out, rng.pick(kSadEnd));
    } else {  // broken: "But the kite could not be fixed, even with some tape, and Mia was sad."
      add(out, "But");
      the_obj();
      add(out, rng.pick(kNotFixed)), out += ", even with";
      thing_np(rng, out);
      join(out, rng, "and"), add(out, s.name), add(out, rng.pick(kSadEnd));
    }
  }
  out += '.';
}

void Clauses::meet(const Scene& s, Rng& rng, std::string& out) const {
  const SentenceStart start(out);
  auto described = [&] {  // "a shy cat"
    article(out), add(out, s.friend_trait), add(out, s.friend_kind);
  };
  const uint32_t u = rng.below(3);
  if (u == 0) {  // "Then Mia met Tom, a shy cat, by the pond."
    if (rng.chance(0.4)) opener(rng, out);
    add(out, s.who), add(out, rng.pick(kMeet)), add(out, s.friend_name);
    out += ',';
    described();
    if (rng.chance(0.7)) out += ',', place_pp(s, rng, out);
  } else if (u == 1) {  // "A shy cat named Tom came over across the hill."
    described();
    add(out, rng.chance(0.5) ? "named" : "called"), add(out, s.friend_name);
    add(out, rng.pick(kMove));
    path_pp(rng, out);
  } else {  // "Tom, a shy cat, was digging near a log."
    add(out, s.friend_name);
    out += ',';
    described();
    out += ',';
    add(out, "was"), add(out, word(kLVing, rng));
    if (rng.chance(0.7)) place_pp(s, rng, out);
  }
  out += '.';
}

void Clauses::any(const Scene& s, Rng& rng, std::string& out) const {
  sentence(Construction(rng.below(kConstructions)), s, rng, out);
}

void Clauses::event(Event e, const Scene& s, Rng& rng, std::string& out) const {
  const SentenceStart start(out);
  if (e == Event::Cheer) {  // the helper speaks first: "Tom hugged Mia gently, and Mia felt better."
    add(out, s.helper);
    add(out, rng.pick(kComfort)), add(out, s.name);
    if (rng.chance(0.5)) manner(rng, out);
    join(out, rng, "and");
    add(out, s.name), add(out, "felt"), add(out, s.feel);
    out += '.';
    return;
  }
  if (e == Event::Setback && rng.chance(0.4)) {  // "But a fat goat grabbed her cup and ran off past the hill."
    add(out, "But");
    being_np(rng, out);
    add(out, rng.pick(kGrab)), add(out, s.his), add(out, word(kLThing, rng));
    add(out, "and ran off");
    path_pp(rng, out);
    out += '.';
    return;
  }
  if (e == Event::Setback) add(out, "But");
  else if (rng.chance(0.2)) opener(rng, out);
  add(out, s.who);
  switch (e) {
    case Event::Search:  // "She peeked behind a big box for her kite, but found only some socks."
      add(out, rng.pick(kSearch));
      place_pp(s, rng, out);
      if (rng.chance(0.3)) add(out, "for"), add(out, s.the_obj);
      join(out, rng, "but");
      add(out, s.he), add(out, rng.pick(kFoundOnly));
      thing_np(rng, out);
      if (rng.chance(0.5)) add(out, "instead");
      break;
    case Event::Clue:  // "Mia saw tiny tracks by a rock and followed them past the hill."
      add(out, rng.pick(kSee)), add(out, rng.pick(kTracks)), add(out, "tracks");
      place_pp(s, rng, out);
      and_then(s, rng, out), add(out, "followed them");
      path_pp(rng, out);
      break;
    case Event::Ask:  // "Mia asked her mom for help by the gate, and her mom said yes."
      add(out, rng.pick(kAsk)), add(out, s.helper);
      if (rng.chance(0.5)) add(out, rng.pick(kAskFor)), add(out, s.the_obj);
      else add(out, "for help"), place_pp(s, rng, out);
      join(out, rng, "and");
      add(out, s.helper), add(out, rng.pick(kAgreed));
      break;
    case Event::Try:  // "Mia tried to fix her kite with a red cup, but it did not work."
      add(out, rng.pick(kTried));
      add(out, rng.pick(s.object == ObjectState::Broken ? kMend : kReach));
      add(out, s.the_obj), add(out, "with");
      article(out);
      {  // "..., but the cup was too short": the tool was not up to it
        const std::string& tool = word(rng.chance(0.5) ? kLThing : kLToy, rng);
        add(out, tool);
        out += ", but";
        const std::string& what = rng.pick(kTooWhat);
        if (rng.chance(0.6) && what != tool) add(out, "the"), add(out, tool), add(out, "was too"), add(out, what);
        else add(out, "it"), add(out, rng.pick(kNoLuck));
      }
      break;
    case Event::Tool:  // "Mia fetched a long rope from behind the barn to help with the kite."
      add(out, rng.pick(kFetch));
      thing_np(rng, out);
      place_pp(s, rng, out);
      add(out, rng.pick(kToHelp)), add(out, s.the_obj);
      break;
    case Event::Work:  // "Mia washed some cups for a kind baker and got a coin."
      add(out, word(kLVted, rng));
      thing_np(rng, out);
      add(out, "for");
      article(out);
      if (rng.chance(0.5)) add(out, word(kLBadj, rng));
      add(out, word(kLPerson, rng));
      add(out, rng.pick(kGot)), article(out), add(out, word(kLTadj, rng)), add(out, rng.pick(kPay));
      break;
    case Event::Wait:  // "Mia waited by the gate and watched two goats playing."
      add(out, rng.chance(0.5) ? "waited" : "sat and waited");
      place_pp(s, rng, out);
      and_then(s, rng, out), add(out, "watched");
      being_np(rng, out);
      add(out, word(kLVing, rng));
      break;
    case Event::Show:  // "Mia showed her kite to a kind baker by the gate."
      add(out, "showed"), add(out, s.the_obj), add(out, "to");
      being_np(rng, out);
      if (rng.chance(0.7)) place_pp(s, rng, out);
      break;
    case Event::Rest:  // "Mia sat down under a tall tree, because she was so tired."
      add(out, rng.pick(kRest));
      place_pp(s, rng, out);
      if (rng.chance(0.5)) {
        out += because(rng);
        add(out, s.he), add(out, rng.pick(kTired));
      } else {
        and_then(s, rng, out), add(out, "watched");
        being_np(rng, out);
        add(out, word(kLVing, rng));
      }
      break;
    case Event::Eat:  // "Mia munched on some plums by the gate, because she was hungry."
      add(out, rng.pick(kEat));
      if (rng.chance(0.5)) article(out), add(out, word(kLFood, rng));
      else add(out, "some"), add(out, word(kLFoods, rng));
      if (rng.chance(0.7)) place_pp(s, rng, out);
      if (rng.chance(0.5)) {
        out += because(rng);
        add(out, s.he), add(out, rng.pick(kHungry));
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
      if (rng.chance(0.7)) place_pp(s, rng, out);
      break;
  }
  out += '.';
}

}  // namespace slm::stories
