#pragma once
// Sentences built clause by clause. Where the templates of assets/story.txt are whole
// lines with slots, a construction here is put together from word groups, each drawn on
// its own: a subject, a verb phrase (a verb with its object, which has its own
// determiner and adjective), adverbials (a manner, a place, a path, a time), and joined
// clauses (because, so, but, when, as). Dialogue is a quoted question, exclamation or
// statement with a speech verb and, sometimes, a reported feeling or manner. What the
// clauses talk about comes from the story world (Scene): who acts and how they are
// called, where they are, how they feel and why, the object as things stand.
//
// So a sentence meets the same fixed run of four words only where English itself does
// ("a bit of the"), and the number of distinct sentences grows with the product of the
// choices rather than with the number of template lines.
#include <string>
#include <string_view>

#include "slm/stories/grammar.h"
#include "slm/stories/vocabulary.h"
#include "slm/stories/world.h"
#include "slm/util/rng.h"

namespace slm::stories {

// The article marker: finish_text() turns it into "a" or "an" for the word that follows.
constexpr char kArticleMark = '\x01';
// The same at the start of a sentence: "A" or "An" wherever it stands.
constexpr char kCapitalArticleMark = '\x02';

// What a sentence may talk about, read from the plan and the world when it is written.
struct Scene {
  std::string_view who;                // the main character as a subject: a name, "she", "the shy cat"
  std::string_view name;               // the main character's name, when spoken to
  std::string_view he, him, his;       // the main character's pronouns
  std::string_view friend_name;        // the friend, by name
  std::string_view friend_kind, friend_trait;  // "cat", "shy"
  std::string_view parent;             // "mom", "grandpa"
  std::string_view here;               // where the main character is now (a place noun)
  std::string_view feel;               // how the main character feels now ("sad")
  std::string_view reason;             // why, as a clause ("her kite was lost"); may be empty
  std::string_view the_obj;            // the key object as things stand ("the broken kite")
  std::string_view helper;             // who helps: the friend's name or "her mom"
  ObjectState object = ObjectState::Fine;  // what is wrong with the object
};

// The kinds of sentence a story can ask for outside its plot templates.
enum class Construction {
  Scenery,      // what else is at the place: "A fat duck was paddling under the old bridge."
  Action,       // the main character does something: "Then she hopped slowly past a tall rock."
  Perception,   // sees or hears something happening: "Mia spotted a small frog sitting by a log."
  Feeling,      // how they feel and why: "Mia felt sad, because her kite was lost."
  Narration,    // a question or exclamation of the narrator: "What a big shell it was!"
  Speech,       // a line of dialogue with its tag: "Look at that frog!" Mia cried happily.
  Short,        // a short beat, as young children's books have many: "She giggled softly."
};
constexpr int kConstructions = 7;

// The parts of a story arc told by a clause: the problem that sets the goal, the happy
// ending and the sad one.
enum class ArcStep { Problem, Good, Bad };

class Clauses {
 public:
  // lists: the word lists of word_lists.h (kept by reference: they must outlive this).
  explicit Clauses(const Grammar::WordLists& lists) : lists_(&lists) {}

  // Appends one sentence of the construction (with a space before it when out does not
  // end a line).
  void sentence(Construction c, const Scene& s, Rng& rng, std::string& out) const;
  // The last sentence of a happy story: the evening after ("That night, Mia told her mom
  // about a fat duck swimming by the pond.").
  void closing(const Scene& s, Rng& rng, std::string& out) const;
  // The plan's required words, each in a clause of its own: the verb ("When Mia hugged
  // the kite, she smiled."), the adjective of the object (thing) or of the main character
  // (thing null), an animal, person or thing of nature ("Mia saw a fat duck swimming...").
  void with_verb(const Verb& v, const Scene& s, Rng& rng, std::string& out) const;
  void with_adjective(std::string_view adj, const Noun* thing, const Scene& s, Rng& rng, std::string& out) const;
  void with_noun(const Noun& n, const Scene& s, Rng& rng, std::string& out) const;
  // A step of an arc ("find", "lost", "want", "broken", "help") for the key object.
  void arc_step(std::string_view arc, ArcStep step, const Noun& obj, const Scene& s, Rng& rng, std::string& out) const;
  // The main character meets the friend, who is described ("Mia met Tom, a shy cat, by
  // the pond.").
  void meet(const Scene& s, Rng& rng, std::string& out) const;
  // A construction drawn at random, then written.
  void any(const Scene& s, Rng& rng, std::string& out) const;
  // The event told by a clause of its own ("Mia peeked behind a big box for her kite, but
  // she found some socks instead.").
  void event(Event e, const Scene& s, Rng& rng, std::string& out) const;

 private:
  const std::string& word(int list, Rng& rng) const;
  void adj_noun(int adjectives, double p, int nouns, Rng& rng, std::string& out) const;
  // Word groups, each appended with a leading space.
  void thing_np(Rng& rng, std::string& out) const;          // "a red cup", "some pebbles", "the old drum"
  void being_np(Rng& rng, std::string& out) const;          // "a fat duck", "a kind baker", "two goats"
  void place_pp(const Scene& s, Rng& rng, std::string& out) const;  // "under a tall tree", "at the zoo"
  void path_pp(Rng& rng, std::string& out) const;           // "across the hill", "to the barn"
  void opener(Rng& rng, std::string& out) const;
  void and_then(const Scene& s, Rng& rng, std::string& out) const;            // "After a while,"
  void manner(Rng& rng, std::string& out) const;            // "slowly"
  void action_vp(const Scene& s, Rng& rng, std::string& out) const;  // "hopped slowly by the pond"
  void quote(const Scene& s, bool from_main, Rng& rng, std::string& out, char& end) const;

  const Grammar::WordLists* lists_;
};

}  // namespace slm::stories
