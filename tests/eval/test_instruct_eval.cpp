#include <gtest/gtest.h>

#include "slm/eval/instruct_eval.h"

using namespace slm;
using namespace slm::eval;

TEST(InstructEval, AnswersAreNormalisedAsSquadDoes) {
  EXPECT_EQ(normalize_answer("The  Ball!"), "ball");
  EXPECT_EQ(normalize_answer("At the park."), "at park");
  EXPECT_EQ(normalize_answer("An apple, a pear"), "apple pear");
}

TEST(InstructEval, ScoresEachKindOfTask) {
  stories::InstructRecord q;
  q.task = "main_character";
  q.answer = "Jill";
  q.output = "Jill.";
  TaskScore ts;
  nlohmann::json s;
  score_output(q, "jill", ts, s);
  score_output(q, "It is Jill and Tom.", ts, s);
  score_output(q, "Tom.", ts, s);
  EXPECT_EQ(ts.n, 3);
  EXPECT_EQ(ts.exact, 1);
  EXPECT_EQ(ts.contains, 2);
  EXPECT_FALSE(s["contains"].get<bool>());

  stories::InstructRecord w;
  w.task = "write_words";
  w.words = {"ball", "jump", "red"};
  w.features = {"Dialogue", "MoralValue"};
  TaskScore tw;
  score_output(w, "Tom jumped with the red balls. \"Hi,\" he said. \"Hi!\"\n\nTom learned to share.", tw, s);
  EXPECT_DOUBLE_EQ(tw.words, 1.0) << "inflected forms count: jumped, balls";
  EXPECT_DOUBLE_EQ(tw.features, 1.0);
  score_output(w, "Tom ran.", tw, s);
  EXPECT_DOUBLE_EQ(tw.words, 1.0);
  EXPECT_EQ(s["missing_words"].size(), 3u);
  EXPECT_DOUBLE_EQ(tw.features, 1.0);

  stories::InstructRecord r;
  r.task = "summarize";
  r.output = "A girl finds a ball.";
  TaskScore tr;
  score_output(r, "A girl finds a ball.", tr, s);
  EXPECT_DOUBLE_EQ(tr.rouge, 1.0);
  EXPECT_EQ(tr.kind, "rouge");
}

TEST(InstructEval, ACollapsedModelIsSeenForWhatItIs) {
  // "Yes." to every question: right on the yes/no question whose answer is yes, wrong on
  // the rest; the open-question figure and the commonest answer's share tell.
  InstructEval ev;
  TaskScore ts;
  const std::pair<const char*, const char*> questions[] = {{"yes_no", "Yes"}, {"yes_no", "No"}, {"friend", "Tom"},
                                                           {"object", "The ball"}};
  for (const auto& [task, answer] : questions) {
    stories::InstructRecord q;
    q.task = task;
    q.answer = answer;
    q.output = std::string(answer) + ".";
    nlohmann::json s = {{"output", "Yes."}};
    score_output(q, "Yes.", ts, s);
    ev.samples.push_back(s);
  }
  ev.samples.push_back({{"output", "One day, Tom ran."}, {"words_used", 1.0}});  // not a question: not counted
  collapse_checks(ev);
  EXPECT_DOUBLE_EQ(ev.open_contains, 0.0);
  EXPECT_DOUBLE_EQ(ev.same_answer, 1.0);
  EXPECT_EQ(ev.common_answer, "yes");
  EXPECT_EQ(ts.contains, 1) << "the constant answer still scores the yes/no question it happens to fit";

  // Varied answers, one open question right.
  ev.samples[2]["output"] = "Tom.";
  ev.samples[2]["contains"] = true;
  ev.samples[3]["output"] = "The cat.";
  collapse_checks(ev);
  EXPECT_DOUBLE_EQ(ev.open_contains, 0.5);
  EXPECT_DOUBLE_EQ(ev.same_answer, 0.5);
}

TEST(InstructEval, RequiredWordsAreSplitByWhetherTheRequestQuotesThem) {
  InstructEval ev;
  ev.samples.push_back({{"instruction", "Use the words ball, jump and sad."}, {"words_used", 1.0}});
  ev.samples.push_back({{"instruction", "Use the words cat, run and red."}, {"words_used", 0.0}});
  ev.samples.push_back({{"instruction", "Include \"ball\", \"jump\" and \"sad\"."}, {"words_used", 1.0 / 3}});
  collapse_checks(ev);
  EXPECT_DOUBLE_EQ(ev.words_unquoted, 0.5);
  EXPECT_DOUBLE_EQ(ev.words_quoted, 1.0 / 3);
  EXPECT_DOUBLE_EQ(ev.to_json()["required_words_quoted"].get<double>(), 1.0 / 3);
  InstructEval none;  // no writing request: neither figure
  collapse_checks(none);
  EXPECT_TRUE(none.to_json()["required_words_unquoted"].is_null());
}

TEST(InstructEval, UnquotingTakesOffOnlyTheRequiredWordsQuotes) {
  stories::InstructRecord r;
  r.task = "write_words";
  r.words = {"octopus", "lonesome", "prevent"};
  r.instruction = "Say \"Hi\" first. Include \"octopus\", \"lonesome\" and \"prevent\", and \"octopus\" again.";
  EXPECT_TRUE(unquote_required_words(r));
  EXPECT_EQ(r.instruction, "Say \"Hi\" first. Include octopus, lonesome and prevent, and octopus again.");
  EXPECT_FALSE(unquote_required_words(r));  // nothing quoted is left
  stories::InstructRecord plain;
  plain.words = {"ball"};
  plain.instruction = "Use the words ball and \"balloon\".";
  EXPECT_FALSE(unquote_required_words(plain));
  EXPECT_EQ(plain.instruction, "Use the words ball and \"balloon\".");
}
