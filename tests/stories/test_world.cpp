#include <gtest/gtest.h>

#include <array>

#include "slm/stories/world.h"

using namespace slm;
using namespace slm::stories;

namespace {

// How often each event is drawn from a state, over many draws.
std::array<int, kEvents> draws(const World& w, const std::string& arc, int n = 4000) {
  std::array<int, kEvents> count{};
  Rng rng(7);
  for (int i = 0; i < n; ++i) ++count[size_t(w.choose(arc, rng))];
  return count;
}

}  // namespace

TEST(StoryWorld, EventsFollowTheGoalOfTheArc) {
  World lost;
  lost.start("lost");
  EXPECT_EQ(lost.object, ObjectState::Lost);
  EXPECT_EQ(lost.mood, Mood::Sad);
  auto c = draws(lost, "lost");
  EXPECT_GT(c[size_t(Event::Search)], 0);
  for (Event never : {Event::Try, Event::Tool, Event::Work, Event::Wait, Event::Show, Event::Rest, Event::Eat, Event::Cheer,
                      Event::Setback})
    EXPECT_EQ(c[size_t(never)], 0) << event_name(never) << " makes no sense yet";

  World want;
  want.start("want");
  c = draws(want, "want");
  EXPECT_GT(c[size_t(Event::Work)], 0);
  EXPECT_EQ(c[size_t(Event::Search)], 0) << "nothing is lost";

  World found;
  found.start("find");
  EXPECT_TRUE(found.main_has_object);
  EXPECT_GT(draws(found, "find")[size_t(Event::Show)], 0);
}

TEST(StoryWorld, EventsChangeTheStateTheNextEventsReadIt) {
  World w;
  w.start("broken");
  w.apply(Event::Work);  // work makes you tired and hungry...
  EXPECT_TRUE(w.tired);
  EXPECT_TRUE(w.hungry);
  auto c = draws(w, "broken");
  EXPECT_GT(c[size_t(Event::Rest)], 400) << "...so a rest and a meal become likely";
  EXPECT_GT(c[size_t(Event::Eat)], 400);
  w.apply(Event::Rest);
  w.apply(Event::Eat);
  EXPECT_FALSE(w.tired);
  EXPECT_FALSE(w.hungry);
  c = draws(w, "broken");
  EXPECT_EQ(c[size_t(Event::Rest)], 0);
  EXPECT_EQ(c[size_t(Event::Eat)], 0);

  // Once someone helps, nobody is asked again, and a sad character can be cheered up.
  World v;
  v.start("broken");
  v.apply(Event::Ask);
  EXPECT_GE(v.helper, 0);
  v.apply(Event::Setback);
  EXPECT_EQ(v.mood, Mood::Sad);
  c = draws(v, "broken");
  EXPECT_EQ(c[size_t(Event::Ask)], 0);
  EXPECT_GT(c[size_t(Event::Cheer)], 0);
  v.apply(Event::Cheer);
  EXPECT_EQ(v.mood, Mood::Hopeful);
}

TEST(StoryWorld, PronounOnlyAfterASentenceAboutThatCharacter) {
  const Referent tom{"Tom", "he", "the shy cat", Gender::Male};
  const Referent sam{"Sam", "he", "the brave dog", Gender::Male};
  const Referent mia{"Mia", "she", "the kind girl", Gender::Female};
  Rng rng(1);
  int pronouns = 0;
  for (int i = 0; i < 200; ++i) {
    // A new paragraph, or a story's start: the name.
    EXPECT_EQ(refer(tom, mia, "", rng), "Tom");
    EXPECT_EQ(refer(tom, mia, "Tom ran home.\n\n", rng), "Tom");
    // After a sentence about someone else: the name.
    EXPECT_EQ(refer(tom, mia, "Tom ran. Mia sang a song. ", rng), "Tom");
    // After a sentence about Tom that also names another "he": not "he".
    EXPECT_NE(refer(tom, sam, "Tom hugged Sam. ", rng), "he");
    // After a sentence about Tom, with only Mia beside him: sometimes "he".
    auto r = refer(tom, mia, "Mia waved. Tom hugged Mia. ", rng);
    EXPECT_TRUE(r == "he" || r == "Tom" || r == "the shy cat") << r;
    pronouns += r == "he";
  }
  EXPECT_GT(pronouns, 50);
}
