#include "slm/eval/metric_labels.h"

namespace slm::eval {

const std::vector<MetricLabel>& metric_labels() {
  using B = Better;
  static const std::vector<MetricLabel> table = {
      {"loss.loss", "validation loss", "cross-entropy per token on held-out text, in nats", B::Lower},
      {"loss.perplexity", "perplexity", "e to the loss: about how many tokens the model hesitates between at each step", B::Lower},
      {"loss.bits_per_byte", "bits per byte", "the loss per byte of text, in bits, comparable across tokenizers", B::Lower},
      {"mean_words", "words per story", "the average length of a story, in words", B::Neither},
      {"age.child_vocab_share", "share of child vocabulary",
       "share of words a small child knows: the story world's word lists, their forms, function words", B::Higher},
      {"age.flesch_kincaid_grade", "reading grade (Flesch-Kincaid)",
       "the school grade the text reads at, from sentence length and syllables; small children's stories sit near 0-3",
       B::Lower},
      {"age.sentence_length", "words per sentence", "the average sentence length; short sentences are easier for children",
       B::Lower},
      {"grammar.misspelled_share", "misspelled words",
       "share of words not in Hunspell's en_US dictionary (first names excepted)", B::Lower},
      {"grammar.unfinished_share", "unfinished stories", "share of stories whose last sentence has no closing punctuation",
       B::Lower},
      {"grammar.doubled_words_per_story", "doubled words per story", "a word written twice in a row, as in \"the the\"",
       B::Lower},
      {"grammar.article_errors_per_story", "a/an mistakes per story",
       "\"a\" before a vowel sound or \"an\" before a consonant", B::Lower},
      {"consistency.pronoun_agreement", "pronouns that fit the name",
       "after a sentence that starts with a known first name, how often the next he/she fits it", B::Higher},
      {"repetition.repeated_4grams", "repeated phrases",
       "share of 4-word sequences that already occurred earlier in the same story", B::Lower},
      {"diversity.distinct_1", "distinct words", "distinct words over all words of all stories; low: a small vocabulary",
       B::Higher},
      {"diversity.distinct_2", "distinct word pairs", "distinct 2-word sequences over all of them, across the stories",
       B::Higher},
      {"diversity.distinct_3", "distinct 3-word phrases", "distinct 3-word sequences over all of them, across the stories",
       B::Higher},
      {"diversity.self_bleu", "stories alike (self-BLEU)", "BLEU-4 of each story against the others: high when they read alike",
       B::Lower},
      {"creativity.novel_4grams", "new 4-word phrases",
       "share of 4-word sequences not in the training text; new is not always good (nonsense is new too)", B::Higher},
      {"instruct.required_words", "required words used", "in requests, share of the asked-for words the story uses",
       B::Higher},
      {"instruct.features_shown", "requested features shown",
       "in requests, share of the asked-for features (dialogue, a twist, ...) the story shows", B::Higher},
      {"judge.grammar", "grammar (judge)", "the LLM judge's grade for grammar, 1 to 10", B::Higher},
      {"judge.creativity", "creativity (judge)", "the LLM judge's grade for creativity, 1 to 10", B::Higher},
      {"judge.consistency", "consistency (judge)", "the LLM judge's grade for staying consistent with the beginning, 1 to 10",
       B::Higher},
      {"judge.plot", "plot (judge)", "the LLM judge's grade for the plot, 1 to 10", B::Higher},
      {"sample.child_vocab_share", "child vocabulary", "share of this story's words a small child knows", B::Higher},
      {"sample.fk_grade", "reading grade", "Flesch-Kincaid grade of this story", B::Lower},
      {"sample.misspelled", "misspelled words", "words of this story not in the dictionary", B::Lower},
      {"sample.repeated_4grams", "repeated phrases", "share of this story's 4-word sequences said before in it", B::Lower},
      {"sample.required_words", "required words used", "share of the asked-for words this story uses", B::Higher},
      {"sample.features_shown", "features shown", "share of the asked-for features this story shows", B::Higher},
  };
  return table;
}

const MetricLabel* find_metric_label(std::string_view key) {
  for (const auto& m : metric_labels())
    if (m.key == key) return &m;
  return nullptr;
}

MetricLabel metric_label(std::string_view key) {
  if (const MetricLabel* m = find_metric_label(key)) return *m;
  return {key, key, "", Better::Neither};
}

std::string_view better_words(Better b) {
  return b == Better::Higher ? "higher is better" : b == Better::Lower ? "lower is better" : "";
}

std::string_view better_arrow(Better b) { return b == Better::Higher ? "↑" : b == Better::Lower ? "↓" : ""; }

}  // namespace slm::eval
