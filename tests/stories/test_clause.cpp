#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "slm/stories/clause.h"
#include "slm/stories/story.h"
#include "slm/stories/word_lists.h"

using namespace slm;
using namespace slm::stories;

namespace {

const Vocabulary& vocab() {
  static const Vocabulary v = Vocabulary::builtin();
  return v;
}

const Clauses& clauses() {
  static const Grammar::WordLists lists = word_lists(vocab());
  static const Clauses c(lists);
  return c;
}

// A story world half-way through a "lost" story, as the generator would hand it over.
Scene lost_kite(std::string_view who = "Mia") {
  Scene s;
  s.who = who, s.name = "Mia", s.he = "she", s.him = "her", s.his = "her";
  s.friend_name = "Tom", s.friend_kind = "cat", s.friend_trait = "shy", s.parent = "mom";
  s.here = "park", s.feel = "sad", s.reason = "her kite was lost", s.the_obj = "her kite", s.helper = "Tom";
  s.object = ObjectState::Lost;
  return s;
}

// The checks every clause-built text must pass after the finishing pass.
void expect_well_formed(const std::string& text) {
  SCOPED_TRACE(text);
  for (const char* bad : {"{", "}", "\x01", "\x02", "  ", " .", " ,", " !", " ?", "..", ",,"})
    EXPECT_EQ(text.find(bad), std::string::npos) << "found '" << bad << "'";
  std::smatch m;
  EXPECT_FALSE(std::regex_search(text, m, std::regex("\\b(\\w+) \\1\\b", std::regex::icase))) << m.str();
  for (const auto& sentence : split_sentences(text)) {
    const char first = sentence[0] == '"' ? sentence[1] : sentence[0];
    EXPECT_TRUE(first >= 'A' && first <= 'Z') << "'" << sentence << "' starts with a capital";
    const char last = sentence.back() == '"' ? sentence[sentence.size() - 2] : sentence.back();
    EXPECT_TRUE(last == '.' || last == '!' || last == '?') << "'" << sentence << "' ends a sentence";
  }
}

}  // namespace

TEST(StoryClauses, EveryConstructionIsAWellFormedSentence) {
  Rng rng(1);
  for (int c = 0; c < kConstructions; ++c) {
    for (int i = 0; i < 300; ++i) {
      std::string text = "It was a fine day.";
      clauses().sentence(Construction(c), lost_kite(i % 2 ? "Mia" : "she"), rng, text);
      finish_text(text);
      expect_well_formed(text);
      ASSERT_GT(text.size(), std::string("It was a fine day. ").size()) << "construction " << c << " wrote nothing";
    }
  }
}

TEST(StoryClauses, ASentenceAfterAClosingQuoteStartsWithACapital) {
  // The finishing pass leaves a word after a closing quote alone ("Hi!" said Tom), so a
  // clause that starts there, with a pronoun or an article, gives itself the capital.
  Rng rng(2);
  for (int i = 0; i < 200; ++i) {
    std::string text = "\"Look!\" said Tom.";
    clauses().sentence(i % 2 ? Construction::Scenery : Construction::Action, lost_kite("she"), rng, text);
    finish_text(text);
    const char first = text[std::string("\"Look!\" said Tom. ").size()];
    EXPECT_TRUE(first >= 'A' && first <= 'Z') << text;
  }
}

TEST(StoryClauses, SentencesReadTheWorld) {
  Rng rng(3);
  int because = 0, feel = 0;
  for (int i = 0; i < 400; ++i) {
    std::string text;
    clauses().sentence(Construction::Feeling, lost_kite(), rng, text);
    feel += text.find("sad") != std::string::npos;
    because += text.find("her kite was lost") != std::string::npos;
    EXPECT_TRUE(text.find("Mia") != std::string::npos || text.find("she") != std::string::npos) << text;
  }
  EXPECT_EQ(feel, 400) << "the feeling is the world's";
  EXPECT_GT(because, 100) << "and so, often, is the reason for it";
  // A search looks for the lost object or finds something else; a travel ends where the
  // main character now is.
  std::string search, travel;
  for (int i = 0; i < 50; ++i) {
    clauses().event(Event::Search, lost_kite(), rng, search);
    clauses().event(Event::Travel, lost_kite(), rng, travel);
  }
  EXPECT_NE(search.find("for her kite"), std::string::npos) << search;
  EXPECT_NE(travel.find("to the park."), std::string::npos) << travel;
}

TEST(StoryClauses, RequiredWordsAndSadEndingsAreSaid) {
  Rng rng(4);
  const Verb& hug = *std::find_if(vocab().verbs.begin(), vocab().verbs.end(), [](const Verb& v) { return v.transitive; });
  const Noun& kite = vocab().nouns[size_t(vocab().nouns_of_kind[int(NounKind::Toy)][0])];
  const Noun& duck = vocab().nouns[size_t(vocab().nouns_of_kind[int(NounKind::Animal)][0])];
  for (int i = 0; i < 100; ++i) {
    std::string text;
    clauses().with_verb(hug, lost_kite(), rng, text);
    EXPECT_TRUE(text.find(" " + hug.base + " ") != std::string::npos || text.find(" " + hug.past + " ") != std::string::npos)
        << text;
    text.clear();
    clauses().with_adjective("shiny", i % 2 ? &kite : nullptr, lost_kite(), rng, text);
    EXPECT_NE(text.find("shiny"), std::string::npos) << text;
    text.clear();
    clauses().with_noun(duck, lost_kite(), rng, text);
    EXPECT_NE(text.find(duck.word), std::string::npos) << text;
    for (const char* arc : {"find", "lost", "want", "broken", "help"}) {
      text.clear();
      clauses().arc_step(arc, ArcStep::Bad, kite, lost_kite(), rng, text);
      EXPECT_TRUE(std::regex_search(text, std::regex("sad|cried|never"))) << "a sad ending says so: " << text;
      text.clear();
      clauses().arc_step(arc, ArcStep::Problem, kite, lost_kite(), rng, text);
      EXPECT_NE(text.find(kite.word), std::string::npos) << "the problem names the object: " << text;
    }
  }
}

TEST(StoryClauses, VaryWordGroupByWordGroup) {
  // The point of building clauses: the same construction over the same world rarely says
  // the same sentence twice, and its four-word runs are mostly new.
  Rng rng(5);
  std::set<std::string> sentences, grams;
  size_t words = 0;
  const std::regex word("[A-Za-z']+");
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    clauses().any(lost_kite(), rng, s);
    sentences.insert(s);
    std::vector<std::string> w;
    for (auto m = std::sregex_iterator(s.begin(), s.end(), word); m != std::sregex_iterator(); ++m) w.push_back(m->str());
    words += w.size();
    for (size_t k = 0; k + 3 < w.size(); ++k) grams.insert(w[k] + " " + w[k + 1] + " " + w[k + 2] + " " + w[k + 3]);
  }
  EXPECT_GT(sentences.size(), 1700u);  // 1,811 when written; short beats ("Mia giggled.") may meet again
  EXPECT_GT(double(grams.size()) / double(words), 0.4);  // 0.46 for one world; a story corpus varies the world too
}
