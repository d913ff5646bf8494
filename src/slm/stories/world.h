#pragma once
// The story world while a story is being told: where the main character is, who has the
// key object and what state it is in, how the main character feels, who helps, how
// tired and hungry they are. The middle of a story is a chain of events chosen from this
// state and the goal of the arc (search, ask for help, try, rest, eat, go somewhere...);
// each event changes the state, and the sentences that follow read it through slots
// ("{feel}", "{the_obj}", "{here}", "{helper}"), so the text says what is true at that
// point of the story. Referring expressions are chosen here too: a character is called
// "she" only when the sentence before was about her and nobody else it could mean.
#include <string>
#include <string_view>
#include <vector>

#include "slm/stories/vocabulary.h"
#include "slm/util/rng.h"

namespace slm::stories {

enum class Mood { Happy, Sad, Scared, Angry, Hopeful, Tired };
enum class ObjectState { Fine, Lost, Broken, Stuck, Wanted };

// The events of a story's middle. Each has a grammar section "ev_<name>".
enum class Event { Search, Ask, Try, Clue, Work, Wait, Tool, Show, Travel, Rest, Eat, Meet, Setback, Cheer };
constexpr int kEvents = 14;
const char* event_name(Event e);  // "search", "ask", ...

struct World {
  ObjectState object = ObjectState::Fine;
  bool main_has_object = false;  // who holds it: the main character, or not
  Mood mood = Mood::Happy;
  std::string here;           // where the main character is now (a place noun)
  int helper = -1;            // -1 nobody yet; 0 the friend, 1 the parent, 2 a passer-by
  bool tired = false, hungry = false;
  int tries = 0;              // attempts at the goal so far
  int events = 0;

  // The arc's problem has happened: the object is lost, broken, stuck, wanted or found.
  void start(const std::string& arc);
  // The events that make sense now, with their weights; choose() draws one.
  Event choose(const std::string& arc, Rng& rng) const;
  // What an event changes.
  void apply(Event e);
};

// How to call a character at the start of a sentence, given the sentence before it: the
// name, a pronoun (only when that sentence was about the same character and no one else
// of the same gender was in it), or a description ("the shy cat").
struct Referent {
  std::string_view name, he, description;
  Gender gender;
};
std::string_view refer(const Referent& who, const Referent& other, std::string_view text_so_far, Rng& rng);

// Words for a mood ("sad", "upset", "gloomy"...), drawn afresh at each change.
const std::vector<std::string>& mood_words(Mood m);

}  // namespace slm::stories
