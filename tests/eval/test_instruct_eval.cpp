#include <gtest/gtest.h>

#include "slm/eval/instruct_eval.h"
#include "slm/tokenizer/bpe_trainer.h"

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

TEST(InstructEval, OneStoryForEveryRequestIsCaught) {
  // A model that ignores its requests writes the same story to each: every 4-gram of it is
  // in another request's story. Stories of their own share none.
  const std::string same = "One day, a girl named Sofia played with her toy train at the shop.";
  auto eval_of = [](const std::vector<std::string>& outputs) {
    InstructEval ev;
    for (const auto& o : outputs) ev.samples.push_back({{"output", o}, {"words_used", 0.0}, {"instruction", "Use cat."}});
    collapse_checks(ev);
    return ev;
  };
  EXPECT_DOUBLE_EQ(eval_of({same, same, same}).story_shared, 1.0);
  // Two of three alike, the third all its own: (1 + 1 + 0) / 3.
  EXPECT_DOUBLE_EQ(eval_of({same, same, "Max the dog ran to the park and found a big red ball."}).story_shared, 2.0 / 3);
  // The same opening only: "once upon a time" is one 4-gram of "once upon a time there
  // was a cat" (5 of them), so each story shares a fifth.
  EXPECT_DOUBLE_EQ(eval_of({"Once upon a time there was a cat.", "Once upon a time, Tom met a frog."}).story_shared, 0.2);
  const InstructEval one = eval_of({same});
  EXPECT_DOUBLE_EQ(one.story_shared, -1) << "one story has nothing to be shared with";
  EXPECT_TRUE(one.to_json()["writing_shared_4grams"].is_null());
  EXPECT_DOUBLE_EQ(eval_of({same, same, "Yes."}).story_shared, 1.0) << "an output under four words is left out";
  EXPECT_DOUBLE_EQ(eval_of({same, "Yes."}).story_shared, -1) << "and then one story is left: nothing to compare";
  EXPECT_NE(instruct_table({{"model", &one}}).find("4-grams also in another story"), std::string::npos);
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

TEST(InstructEval, RequiredWordsAreSplitByHowTheTokenizerSpellsThem) {
  // A corpus where "ball" is common (one token after a space) and "lonesome" rarer.
  tokenizer::WordCounts wc;
  for (int i = 0; i < 30; ++i) wc.add_text("The ball went up. Tom saw the ball and the ball came down. ");
  wc.add_text("He was lonesome. ");  // once: below min_frequency, never merged
  auto train = [&](double space_merges) {
    tokenizer::TrainOptions o;
    o.vocab_size = 300, o.quiet = true, o.min_frequency = 2, o.space_merges = space_merges;
    return tokenizer::train_bpe(wc, o);
  };
  const auto gpt2 = train(0), split = train(0.3);
  EXPECT_EQ(word_spelling(split, "ball"), "one_token");
  EXPECT_EQ(word_spelling(split, "lonesome"), "same") << "a space, then the tokens it has alone";
  EXPECT_EQ(word_spelling(split, "zebra"), "same") << "an unseen word is spelled from its bytes alike";
  EXPECT_EQ(word_spelling(gpt2, "ball"), "one_token");
  EXPECT_EQ(word_spelling(gpt2, "tin"), "other") << "GPT-2's BPE: ` tin` is `Ġt i n` (from ` the`), `tin` is `t i n`";
  EXPECT_EQ(word_spelling(split, "tin"), "same");

  InstructEval ev;
  ev.samples.push_back({{"instruction", "Use ball and lonesome."}, {"words_used", 0.5},
                        {"word_spelling", {{"ball", "one_token"}, {"lonesome", "same"}}},
                        {"missing_words", {"ball"}}});
  ev.samples.push_back({{"instruction", "Use lonesome and zebra."}, {"words_used", 0.5},
                        {"word_spelling", {{"lonesome", "same"}, {"zebra", "same"}}},
                        {"missing_words", {"zebra"}}});
  collapse_checks(ev);
  EXPECT_DOUBLE_EQ(ev.words_same, 2.0 / 3);
  EXPECT_DOUBLE_EQ(ev.words_one_token, 0.0);
  EXPECT_DOUBLE_EQ(ev.words_other, -1) << "no word of that class";
  EXPECT_TRUE(ev.to_json()["required_words_other_spelling"].is_null());
  EXPECT_DOUBLE_EQ(ev.to_json()["required_words_same_spelling"].get<double>(), 2.0 / 3);
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
