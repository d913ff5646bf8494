#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <regex>
#include <set>
#include <unordered_set>

#include "slm/stories/assets.h"
#include "slm/stories/story.h"
#include "slm/stories/story_corpus.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/text.h"
#include "test_util.h"

using namespace slm;
using namespace slm::stories;

namespace {

const StoryGenerator& gen() {
  static StoryGenerator g;
  return g;
}

std::string lower(std::string s) {
  for (auto& c : s) c = ascii_lower(c);
  return s;
}

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text) {
    if (is_ascii_alpha(c) || c == '\'' || c == '-') {
      w.push_back(ascii_lower(c));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

bool has_phrase(const std::string& text, const std::string& phrase) {
  std::regex re("\\b" + phrase + "\\b", std::regex::icase);
  return std::regex_search(text, re);
}

bool has_any(const std::string& text, std::initializer_list<const char*> markers) {
  std::string t = lower(text);
  for (auto m : markers)
    if (t.find(m) != std::string::npos) return true;
  return false;
}

std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0, p;
  while ((p = text.find("\n\n", start)) != std::string::npos) {
    out.push_back(text.substr(start, p - start));
    start = p + 2;
  }
  out.push_back(text.substr(start));
  return out;
}

constexpr int kStories = 3000;

}  // namespace

TEST(StoryVocabulary, HasAtLeast3500ChildWords) {
  const auto& v = gen().vocabulary();
  EXPECT_GE(v.distinct_words(), 3500u);
  for (int k = 0; k < kNounKinds; ++k) EXPECT_GE(v.nouns_of_kind[k].size(), 120u) << noun_kind_name(NounKind(k));
  EXPECT_GE(v.verbs.size(), 700u);
  EXPECT_GE(v.adjectives.size(), 600u);
  EXPECT_GE(v.names.size(), 280u);
}

TEST(StoryVocabulary, PluralsAndIngFormsFollowTheSpellingRules) {
  EXPECT_EQ(plural_of("ball"), "balls");
  EXPECT_EQ(plural_of("fox"), "foxes");
  EXPECT_EQ(plural_of("bench"), "benches");
  EXPECT_EQ(plural_of("puppy"), "puppies");
  EXPECT_EQ(plural_of("toy"), "toys");
  EXPECT_EQ(plural_of("mouse"), "mice");
  EXPECT_EQ(plural_of("leaf"), "leaves");
  EXPECT_EQ(plural_of("sheep"), "sheep");
  EXPECT_EQ(plural_of("tomato"), "tomatoes");
  EXPECT_EQ(plural_of("bus driver"), "bus drivers");
  EXPECT_EQ(plural_of("fireman"), "firemen");
  EXPECT_EQ(plural_of("gingerbread man"), "gingerbread men");
  EXPECT_EQ(ing_form("hop", "hopped"), "hopping");
  EXPECT_EQ(ing_form("run", "ran"), "running");
  EXPECT_EQ(ing_form("make", "made"), "making");
  EXPECT_EQ(ing_form("tie", "tied"), "tying");
  EXPECT_EQ(ing_form("see", "saw"), "seeing");
  EXPECT_EQ(ing_form("visit", "visited"), "visiting");
  EXPECT_EQ(ing_form("fix", "fixed"), "fixing");
  EXPECT_EQ(ing_form("play", "played"), "playing");
  EXPECT_EQ(ing_form("begin", "began"), "beginning");
  EXPECT_EQ(ing_form("zigzag", "zigzagged"), "zigzagging");
}

// The figures of bench/story_diversity that need no zlib, on the same 550 KB, held a
// little under what docs/data.md reports so that a change to the grammar that makes
// stories repetitive again fails here.
TEST(StoryGenerator, IsAsVariedAsTheDocsSay) {
  std::string text;
  for (uint64_t i = 0; text.size() < 550000; ++i) text += gen().generate(1, i).text + "\n\n";
  auto w = words_of(text);
  std::unordered_set<std::string> distinct(w.begin(), w.end());
  std::unordered_set<uint64_t> grams, sentences;
  for (size_t k = 0; k + 3 < w.size(); ++k) grams.insert(hash64(w[k] + ' ' + w[k + 1] + ' ' + w[k + 2] + ' ' + w[k + 3]));
  auto sents = split_sentences(text);
  for (const auto& x : sents) sentences.insert(hash64(x));
  EXPECT_GE(distinct.size(), 3900u);
  EXPECT_GE(double(grams.size()) / double(w.size()), 0.84);
  EXPECT_GE(double(sentences.size()) / double(sents.size()), 0.99);
}

TEST(StoryVocabulary, ArticlesFollowTheSoundOfTheWord) {
  EXPECT_STREQ(indefinite_article("apple"), "an");
  EXPECT_STREQ(indefinite_article("ball"), "a");
  EXPECT_STREQ(indefinite_article("umbrella"), "an");
  EXPECT_STREQ(indefinite_article("unicorn"), "a");
  EXPECT_STREQ(indefinite_article("useful"), "a");
  EXPECT_STREQ(indefinite_article("hour"), "an");
  EXPECT_STREQ(indefinite_article("Owl"), "an");
}

TEST(StoryGenerator, IsDeterministicForASeed) {
  for (uint64_t i = 0; i < 50; ++i) {
    EXPECT_EQ(gen().generate(7, i).text, gen().generate(7, i).text);
    EXPECT_NE(gen().generate(7, i).text, gen().generate(8, i).text);
  }
}

TEST(StoryGenerator, UsesTheRequiredWords) {
  for (uint64_t i = 0; i < kStories; ++i) {
    Story s = gen().generate(1, i);
    const auto& p = s.plan;
    ASSERT_EQ(s.words.size(), 3u);
    EXPECT_TRUE(has_phrase(s.text, p.noun->word)) << "noun '" << p.noun->word << "' missing:\n" << s.text;
    EXPECT_TRUE(has_phrase(s.text, p.verb->base) || has_phrase(s.text, p.verb->past))
        << "verb '" << p.verb->base << "' missing:\n" << s.text;
    EXPECT_TRUE(has_phrase(s.text, p.adjective->word)) << "adjective '" << p.adjective->word << "' missing:\n" << s.text;
  }
}

TEST(StoryGenerator, FeaturesVisiblyShapeTheStory) {
  int seen[kFeatures] = {};
  for (uint64_t i = 0; i < kStories; ++i) {
    Story s = gen().generate(2, i);
    const auto& p = s.plan;
    auto paras = paragraphs(s.text);
    const std::string& last = paras.back();
    const std::string& ending = p.has(Feature::MoralValue) ? paras[paras.size() - 2] : last;
    for (auto f : p.features) ++seen[int(f)];
    if (p.has(Feature::Dialogue)) {
      EXPECT_GE(std::count(s.text.begin(), s.text.end(), '"'), 4) << "two quoted lines at least:\n" << s.text;
    }
    if (p.has(Feature::MoralValue))
      EXPECT_TRUE(has_any(last, {"learned", "lesson", "moral"})) << "a moral ends the story:\n" << s.text;
    else
      EXPECT_FALSE(has_any(last, {"moral of the story", "the lesson is"})) << s.text;
    if (p.has(Feature::BadEnding))
      EXPECT_TRUE(has_any(ending, {"sad", "cried", "upset", "worried", "scared", "lonely", "grumpy", "lost", "never"}))
          << "a bad ending ends sadly:\n" << s.text;
    else
      EXPECT_FALSE(has_any(ending, {"cried", "never found", "lost forever", "gone forever"})) << s.text;
    if (p.has(Feature::PlotTwist)) {
      EXPECT_TRUE(has_any(s.text, {"surpris", "not what it seemed", "began to talk", "strange"})) << s.text;
    }
    if (p.has(Feature::Foreshadowing)) {
      EXPECT_TRUE(has_any(paras[0], {"did not know", "feeling", "dark clouds", "careful", "secret", "different"}))
          << "foreshadowing comes early:\n" << s.text;
    }
    if (p.has(Feature::Conflict)) {
      EXPECT_TRUE(has_any(s.text, {"fight", "mine", "angry", "mad", "could not agree", "laughed at"})) << s.text;
    }
  }
  for (int f = 0; f < kFeatures; ++f) EXPECT_GT(seen[f], kStories / 5) << feature_name(Feature(f));
}

TEST(StoryGenerator, IsGrammaticalAndWellFormed) {
  const auto& v = gen().vocabulary();
  std::set<std::string> names;
  for (const auto& n : v.names) names.insert(n.name);
  for (uint64_t i = 0; i < kStories; ++i) {
    Story s = gen().generate(3, i);
    const std::string& t = s.text;
    SCOPED_TRACE(t);
    // No template left over, no stray spacing.
    for (const char* bad : {"{", "}", "\x01", "  ", " .", " ,", " !", " ?", "..", "\n\n\n"})
      ASSERT_EQ(t.find(bad), std::string::npos) << "found '" << bad << "'";
    // Every sentence starts with a capital letter.
    for (const auto& sentence : split_sentences(t)) {
      size_t k = sentence.find_first_not_of("\" ");
      ASSERT_NE(k, std::string::npos);
      EXPECT_TRUE(sentence[k] >= 'A' && sentence[k] <= 'Z') << "sentence: " << sentence;
    }
    // a/an agree with the next word; no doubled words.
    auto w = words_of(t);
    for (size_t k = 0; k + 1 < w.size(); ++k) {
      if (w[k] == "a" || w[k] == "an") {
        EXPECT_EQ(w[k], indefinite_article(w[k + 1])) << w[k] << " " << w[k + 1];
      }
    }
    std::smatch m;
    EXPECT_FALSE(std::regex_search(t, m, std::regex("\\b(\\w+) \\1\\b", std::regex::icase))) << m.str();
    // A mass noun never takes "a".
    if (s.plan.object->mass) {
      ASSERT_FALSE(has_phrase(t, "an? " + s.plan.object->word));
    }
  }
}

TEST(StoryGenerator, CharactersStayConsistent) {
  const auto& v = gen().vocabulary();
  std::set<std::string> names;
  for (const auto& n : v.names) names.insert(n.name);
  int single_gender = 0;
  for (uint64_t i = 0; i < kStories; ++i) {
    Story s = gen().generate(4, i);
    const auto& p = s.plan;
    SCOPED_TRACE(s.text);
    // Only the two characters of the plan are named.
    std::string w;
    for (char c : s.text + " ") {
      if (is_ascii_alpha(c)) {
        w.push_back(c);
        continue;
      }
      if (names.count(w)) {
        ASSERT_TRUE(w == p.main.name || w == p.friend_.name) << "stranger's name " << w;
      }
      w.clear();
    }
    auto count = [&](const std::string& x) {
      size_t n = 0;
      for (size_t at = 0; (at = s.text.find(x, at)) != std::string::npos; at += x.size()) ++n;
      return n;
    };
    EXPECT_GE(count(p.main.name), 2u) << "the main character is named more than once";
    EXPECT_GE(count(p.object->word), 2u) << "the object, once introduced, is referred back to";
    // When everyone is one gender, the other gender's pronouns never appear.
    bool all_f = p.main.gender == Gender::Female && p.friend_.gender == Gender::Female && p.parent_gender() == Gender::Female;
    bool all_m = p.main.gender == Gender::Male && p.friend_.gender == Gender::Male && p.parent_gender() == Gender::Male;
    if (all_f) {
      ++single_gender;
      for (auto x : {"he", "him", "his", "himself"}) EXPECT_FALSE(has_phrase(s.text, x)) << x;
    }
    if (all_m) {
      ++single_gender;
      for (auto x : {"she", "her", "herself"}) EXPECT_FALSE(has_phrase(s.text, x)) << x;
    }
    // The main character's kind, when it is named, is the one in the plan.
    if (p.main.kind == "girl") {
      EXPECT_FALSE(has_phrase(s.text, "boy named " + p.main.name));
    }
    if (p.main.kind == "boy") {
      EXPECT_FALSE(has_phrase(s.text, "girl named " + p.main.name));
    }
  }
  EXPECT_GT(single_gender, kStories / 10);
}

// Referring expressions come from the story so far: a new paragraph names the main
// character, and "he"/"she" follows only a sentence about the same person, so the
// pronoun check of `slm eval stories` finds (almost) nothing to flag in the corpus.
TEST(StoryGenerator, PronounsFollowASentenceAboutTheSamePerson) {
  const auto& v = gen().vocabulary();
  std::map<std::string, Gender> gender;
  for (const auto& n : v.names) gender[n.name] = n.gender;
  int checks = 0, errors = 0;
  for (uint64_t i = 0; i < kStories; ++i) {
    Story s = gen().generate(9, i);
    SCOPED_TRACE(s.text);
    for (const auto& para : paragraphs(s.text)) {
      EXPECT_NE(para.rfind("He ", 0), 0u) << "a paragraph starts with a name, not a pronoun";
      EXPECT_NE(para.rfind("She ", 0), 0u);
    }
    auto sents = split_sentences(s.text);
    for (size_t k = 0; k + 1 < sents.size(); ++k) {
      auto a = words_of(sents[k]), b = words_of(sents[k + 1]);
      if (a.empty() || b.empty() || (b[0] != "he" && b[0] != "she")) continue;
      std::string first = sents[k].substr(0, sents[k].find_first_of(" ',"));
      auto g = gender.find(first);
      if (g == gender.end()) continue;
      ++checks;
      errors += (b[0] == "she") != (g->second == Gender::Female);
    }
  }
  EXPECT_GT(checks, kStories / 2);
  EXPECT_LE(errors, checks / 100) << errors << " of " << checks;
}

TEST(StoryGenerator, HasThreeToFiveParagraphsOfAbout100To250Words) {
  int in_range = 0;
  for (uint64_t i = 0; i < kStories; ++i) {
    Story s = gen().generate(5, i);
    auto paras = paragraphs(s.text);
    EXPECT_GE(paras.size(), 3u);
    EXPECT_LE(paras.size(), 5u);
    size_t n = words_of(s.text).size();
    EXPECT_GE(n, 70u);
    EXPECT_LE(n, 280u);
    in_range += n >= 100 && n <= 250;
  }
  EXPECT_GE(in_range, kStories * 95 / 100);
}

TEST(StoryGenerator, HasNoExactDuplicatesAndKeepsFindingNewFourGrams) {
  std::unordered_set<uint64_t> stories;
  std::unordered_set<uint64_t> fourgrams;
  std::vector<size_t> distinct_at;
  const uint64_t n = 80000;
  for (uint64_t i = 0; i < n; ++i) {
    Story s = gen().generate(6, i);
    ASSERT_TRUE(stories.insert(hash64(s.text)).second) << "duplicate story " << i;
    auto w = words_of(s.text);
    for (size_t k = 0; k + 3 < w.size(); ++k) fourgrams.insert(hash64(w[k] + ' ' + w[k + 1] + ' ' + w[k + 2] + ' ' + w[k + 3]));
    if (i + 1 == 10000 || i + 1 == 20000 || i + 1 == 40000 || i + 1 == 80000) distinct_at.push_back(fourgrams.size());
  }
  // Each doubling of the corpus still brings many new 4-grams.
  for (size_t k = 1; k < distinct_at.size(); ++k)
    EXPECT_GT(double(distinct_at[k]), 1.25 * double(distinct_at[k - 1])) << "at doubling " << k;
}

TEST(StoryGenerator, SummaryAndSentenceBelongToTheStory) {
  for (uint64_t i = 0; i < 500; ++i) {
    Story s = gen().generate(9, i);
    EXPECT_FALSE(s.summary.empty());
    EXPECT_NE(s.summary.find(s.plan.main.name), std::string::npos) << s.summary;
    EXPECT_NE(s.text.find(s.sentence), std::string::npos) << s.sentence;
    EXPECT_NE(s.prompt.find("\"" + s.plan.verb->base + "\""), std::string::npos);
    EXPECT_EQ(s.summary.find('{'), std::string::npos);
  }
}

TEST(StoryCorpus, JsonlCarriesTinyStoriesMetadata) {
  test::TempDir dir;
  StoryCorpusOptions o;
  o.out = dir / "s.jsonl";
  o.format = story_format_for(o.out);
  o.count = 200;
  o.quiet = true;
  write_story_corpus(gen(), o);
  std::istringstream in(test::slurp(o.out));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    Story s = gen().generate(o.seed, uint64_t(n));
    EXPECT_EQ(j["story"], s.text);
    EXPECT_EQ(j["instruction"]["words"].size(), 3u);
    EXPECT_EQ(j["instruction"]["features"].size(), s.plan.features.size());
    EXPECT_EQ(j["summary"], s.summary);
    EXPECT_EQ(j["random_sentence"], s.sentence);
    ++n;
  }
  EXPECT_EQ(n, 200);
}

TEST(StoryCorpus, OutputDoesNotDependOnThreadsAndSizeStopsAtTheTarget) {
  test::TempDir dir;
  StoryCorpusOptions o;
  o.quiet = true;
  o.size_mb = 0.5;
  o.out = dir / "one.txt";
  o.threads = 1;
  auto a = write_story_corpus(gen(), o);
  o.out = dir / "two.txt";
  o.threads = 2;
  auto b = write_story_corpus(gen(), o);
  EXPECT_EQ(test::slurp(dir / "one.txt"), test::slurp(dir / "two.txt"));
  EXPECT_EQ(a.stories, b.stories);
  EXPECT_GE(a.bytes, 500000u);
  EXPECT_LT(a.bytes, 502000u) << "stops at the first story past the size";
  auto text = test::slurp(dir / "one.txt");
  size_t seps = 0;
  for (size_t at = 0; (at = text.find("\n<|endoftext|>\n", at)) != std::string::npos; ++at) ++seps;
  EXPECT_EQ(seps, a.stories);
}

TEST(StoryCorpus, InstructFormHasTheTinyStoriesInstructFields) {
  std::string out;
  Story s = gen().generate(1, 0);
  format_story(s, StoryFormat::Instruct, out);
  EXPECT_EQ(out.rfind("Features: ", 0), 0u);
  for (auto f : {"\nWords: ", "\nSummary: ", "\nRandom sentence: ", "\nStory: \n\n", "\n<|endoftext|>\n"})
    EXPECT_NE(out.find(f), std::string::npos) << f;
}

TEST(StoryCorpus, InstructHeadersQuoteTheirWordsForTheAskedShareOfStories) {
  Story s = gen().generate(1, 0);
  std::string plain, quoted;
  format_story(s, StoryFormat::Instruct, plain);
  format_story(s, StoryFormat::Instruct, quoted, true);
  EXPECT_NE(plain.find("\nWords: " + s.words[0] + ", " + s.words[1] + ", " + s.words[2] + "\n"), std::string::npos);
  EXPECT_NE(quoted.find("\nWords: \"" + s.words[0] + "\", \"" + s.words[1] + "\", \"" + s.words[2] + "\"\n"),
            std::string::npos)
      << quoted;
  // The share: about `fraction` of the stories, none at 0, all at 1, and the same choice
  // for a story whatever else is asked (it is a function of seed and index).
  int n = 4000, half = 0;
  for (int i = 0; i < n; ++i) {
    half += quotes_words(7, uint64_t(i), 0.5);
    EXPECT_FALSE(quotes_words(7, uint64_t(i), 0));
    EXPECT_TRUE(quotes_words(7, uint64_t(i), 1));
    EXPECT_EQ(quotes_words(7, uint64_t(i), 0.5), quotes_words(7, uint64_t(i), 0.5));
  }
  EXPECT_NEAR(double(half) / n, 0.5, 0.03);
  int other_seed = 0;
  for (int i = 0; i < n; ++i) other_seed += quotes_words(7, uint64_t(i), 0.5) != quotes_words(8, uint64_t(i), 0.5);
  EXPECT_GT(other_seed, n / 4) << "another seed quotes other stories";
}

TEST(StoryCorpus, RequestsAreAlpacaWritingRequestsForTheirOwnStory) {
  // Instruction pre-training: a share of the stories come as the request slm finetune
  // trains on, then the story; the request names the story's own words.
  int requests = 0, with_features = 0;
  for (uint64_t i = 0; i < 200; ++i) {
    if (!writes_request(7, i, 0.5)) continue;
    ++requests;
    Story s = gen().generate(7, i);
    InstructRecord r = writing_request(gen(), s, 7, i);
    EXPECT_EQ(r.output, s.text);
    EXPECT_EQ(r.words, s.words);
    EXPECT_TRUE(r.task == "write_words" || r.task == "write_features") << r.task;
    with_features += r.task == "write_features";
    for (const auto& w : s.words) EXPECT_NE(r.instruction.find(w), std::string::npos) << w << " in " << r.instruction;
    std::string out;
    format_request(r, out);
    EXPECT_EQ(out.rfind("Below is an instruction", 0), 0u);
    EXPECT_NE(out.find("### Instruction:\n" + r.instruction + "\n\n### Response:" + s.text + "\n<|endoftext|>\n"),
              std::string::npos);
    EXPECT_EQ(out.find("Words:"), std::string::npos) << "a request, not the header";
  }
  EXPECT_NEAR(requests, 100, 25);
  EXPECT_GT(with_features, 10);
  EXPECT_LT(with_features, requests);
  for (uint64_t i = 0; i < 200; ++i) {
    EXPECT_FALSE(writes_request(7, i, 0));
    EXPECT_TRUE(writes_request(7, i, 1));
  }
}

TEST(StoryCorpus, RequestShareHoldsInAWrittenCorpusWhateverTheThreads) {
  test::TempDir dir;
  StoryCorpusOptions o;
  o.format = StoryFormat::Instruct;
  o.count = 300;
  o.requests = 0.3;
  o.quiet = true;
  o.out = dir / "one.txt";
  write_story_corpus(gen(), o);
  o.threads = 2;
  o.out = dir / "two.txt";
  write_story_corpus(gen(), o);
  auto text = test::slurp(dir / "one.txt");
  EXPECT_EQ(text, test::slurp(dir / "two.txt"));
  size_t req = 0, headers = 0;
  for (size_t at = 0; (at = text.find("### Instruction:", at)) != std::string::npos; ++at) ++req;
  for (size_t at = 0; (at = text.find("\nWords: ", at)) != std::string::npos; ++at) ++headers;
  EXPECT_EQ(req + headers, 300u);
  EXPECT_NEAR(double(req) / 300, 0.3, 0.08);
}

namespace {

// The distinct texts of `n` expansions of section [a].
std::set<std::string> expansions(const Grammar& g, int n, const std::string_view* slots, const Grammar::WordLists& lists) {
  std::set<std::string> seen;
  Rng rng(1);
  for (int i = 0; i < n; ++i) {
    std::string out;
    g.expand(g.section("a"), rng, slots, out, &lists);
    seen.insert(out);
  }
  return seen;
}

}  // namespace

TEST(StoryGrammar, ListSlotsDrawAFreshWordAtEachUse) {
  Grammar g = Grammar::parse("[a]\n{~pet} and {~pet}\n", "g.txt", {}, {"pet"});
  auto seen = expansions(g, 50, nullptr, {{"cat", "dog", "fish", "bird"}});
  EXPECT_GT(seen.size(), 4u) << "the two uses draw separately";
  try {
    Grammar::parse("[a]\n{~nope}\n", "g.txt", {}, {"pet"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "g.txt:2");
    EXPECT_NE(std::string(e.what()).find("{~nope}"), std::string::npos);
  }
}

TEST(StoryGrammar, InlineChoicesDrawEachOptionAndNest) {
  Grammar g = Grammar::parse("[a]\n{big |}{red|blue} {ball|{name}'s {~pet}}\n", "g.txt", {"name"}, {"pet"});
  std::string_view slots[] = {"Tom"};
  auto seen = expansions(g, 400, slots, {{"cat", "dog"}});
  // 2 x 2 x (1 + 2) ways, each drawn.
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_TRUE(seen.count("big red ball"));
  EXPECT_TRUE(seen.count("blue Tom's dog"));
  EXPECT_THROW(Grammar::parse("[a]\n{red|{name}\n", "g.txt", {"name"}), Error);  // unclosed
  EXPECT_THROW(Grammar::parse("[a]\n{red|{nope}}\n", "g.txt", {"name"}), Error);  // unknown slot inside
}

TEST(StoryGrammar, RejectsUnknownSlotsAndSectionsWithTheLine) {
  std::vector<std::string> slots = {"name"};
  try {
    Grammar::parse("[a]\nhello {name}\n\n[b]\nbye {nope}\n", "g.txt", slots);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "g.txt:5");
    EXPECT_NE(std::string(e.what()).find("{nope}"), std::string::npos);
  }
  EXPECT_THROW(Grammar::parse("[a]\n{@missing}\n", "g.txt", slots), Error);
  EXPECT_THROW(Grammar::parse("[a]\nunclosed {name\n", "g.txt", slots), Error);
  EXPECT_THROW(Grammar::parse("[a]\n[b]\nx\n", "g.txt", slots), Error);  // [a] is empty
}
