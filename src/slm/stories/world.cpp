#include "slm/stories/world.h"

#include <array>

#include "slm/util/text.h"

namespace slm::stories {

const char* event_name(Event e) {
  static const char* names[kEvents] = {"search", "ask",    "try",  "clue", "work", "wait",    "tool",
                                       "show",   "travel", "rest", "eat",  "meet", "setback", "cheer"};
  return names[int(e)];
}

const std::vector<std::string>& mood_words(Mood m) {
  static const std::array<std::vector<std::string>, 6> words = {{
      {"happy", "glad", "cheerful", "joyful", "proud", "pleased"},
      {"sad", "upset", "gloomy", "unhappy", "blue", "down"},
      {"scared", "worried", "nervous", "afraid", "uneasy"},
      {"cross", "grumpy", "mad", "angry", "fed up"},
      {"hopeful", "brave", "calm", "better", "ready"},
      {"tired", "sleepy", "worn out", "weary"},
  }};
  return words[size_t(m)];
}

void World::start(const std::string& arc) {
  main_has_object = arc == "find";
  object = arc == "lost"     ? ObjectState::Lost
           : arc == "broken" ? ObjectState::Broken
           : arc == "help"   ? ObjectState::Stuck
           : arc == "want"   ? ObjectState::Wanted
                             : ObjectState::Fine;
  mood = object == ObjectState::Fine ? Mood::Happy : object == ObjectState::Stuck ? Mood::Scared : Mood::Sad;
}

Event World::choose(const std::string& arc, Rng& rng) const {
  // Weights of the events that make sense now: the goal of the arc first, then what the
  // state asks for (a tired character rests, a sad one is cheered up), then detours.
  std::array<double, kEvents> w{};
  auto set = [&](Event e, double weight) { w[size_t(e)] = weight; };
  const bool stuck_or_broken = object == ObjectState::Broken || object == ObjectState::Stuck;
  if (object == ObjectState::Lost) set(Event::Search, 3), set(Event::Clue, tries > 0 ? 2 : 0.5);
  if (stuck_or_broken || object == ObjectState::Wanted) set(Event::Try, 3);
  if (stuck_or_broken) set(Event::Tool, 2);
  if (object == ObjectState::Wanted) set(Event::Work, 2.5), set(Event::Wait, 1);
  if (arc == "find") set(Event::Show, 3), set(Event::Clue, 1);
  if (helper < 0) set(Event::Ask, 2);
  if (tired) set(Event::Rest, 4);
  if (hungry) set(Event::Eat, 4);
  if (helper >= 0 && (mood == Mood::Sad || mood == Mood::Scared || mood == Mood::Angry)) set(Event::Cheer, 2.5);
  set(Event::Travel, 1);
  set(Event::Meet, 0.8);
  if (events > 0) set(Event::Setback, 1.2);
  double total = 0;
  for (double x : w) total += x;
  double u = rng.uniform() * total;
  for (int e = 0; e < kEvents; ++e)
    if ((u -= w[size_t(e)]) < 0 && w[size_t(e)] > 0) return Event(e);
  return Event::Travel;
}

void World::apply(Event e) {
  ++events;
  switch (e) {
    case Event::Search: case Event::Try: case Event::Clue: ++tries, tired = tries >= 2 || tired; break;
    case Event::Ask: helper = events % 3 == 1 ? 1 : 0; break;  // the parent or the friend joins
    case Event::Work: tired = true, hungry = true; break;
    case Event::Wait: mood = Mood::Hopeful; break;
    case Event::Tool: mood = Mood::Hopeful; break;
    case Event::Show: mood = Mood::Happy; break;
    case Event::Travel: tired = true; break;
    case Event::Rest: tired = false, mood = Mood::Hopeful; break;
    case Event::Eat: hungry = false; break;
    case Event::Meet: break;
    case Event::Setback: mood = object == ObjectState::Fine ? Mood::Scared : Mood::Sad, hungry = true; break;
    case Event::Cheer: mood = Mood::Hopeful; break;
  }
}

namespace {

bool starts_with_word(std::string_view s, std::string_view w) {
  if (w.empty() || s.size() < w.size()) return false;
  for (size_t i = 0; i < w.size(); ++i)
    if (ascii_lower(s[i]) != ascii_lower(w[i])) return false;
  return s.size() == w.size() || !is_ascii_alpha(s[w.size()]);
}

bool contains(std::string_view s, std::string_view w) {
  for (size_t p = s.find(w); p != std::string_view::npos; p = s.find(w, p + 1))
    if ((p == 0 || !is_ascii_alpha(s[p - 1])) && (p + w.size() == s.size() || !is_ascii_alpha(s[p + w.size()])))
      return true;
  return false;
}

// The last sentence of the text: after the last end mark followed by a space, or the
// last line break.
std::string_view last_sentence(std::string_view t) {
  while (!t.empty() && (t.back() == ' ')) t.remove_suffix(1);
  size_t at = 0;
  for (size_t i = t.size(); i-- > 1;) {
    char c = t[i - 1], d = t[i];
    if (d == '\n' || (d == ' ' && (c == '.' || c == '!' || c == '?' || (c == '"' && i >= 2 && t[i - 2] != ' ')))) {
      at = i + 1;
      break;
    }
  }
  std::string_view s = t.substr(at);
  while (!s.empty() && s.front() == '"') s.remove_prefix(1);
  return s;
}

}  // namespace

std::string_view refer(const Referent& who, const Referent& other, std::string_view text, Rng& rng) {
  const double u = rng.uniform();  // drawn either way, so later draws do not depend on the text
  if (text.empty() || text.back() == '\n') return who.name;  // a new paragraph names them
  std::string_view last = last_sentence(text);
  bool about = starts_with_word(last, who.name) || starts_with_word(last, who.he) ||
               (last.size() > 4 && last.substr(0, who.description.size()) == who.description);
  bool confusable = other.gender == who.gender &&
                    (contains(last, other.name) || contains(last, other.description));
  bool can_describe = who.description != other.description;
  if (about && !confusable) return u < 0.55 ? who.he : u < 0.85 || !can_describe ? who.name : who.description;
  return who.name;  // a description here could be taken for someone else
}

}  // namespace slm::stories
