#pragma once
// How well a model follows instructions, on held-out records of `slm data instruct`:
// questions by exact match and by whether the output contains the answer, writing tasks
// by the share of required words used and of requested features visible, and summaries,
// continuations, morals and rewritten endings by ROUGE-L to the reference. Outputs are
// greedy, from the Alpaca prompt, up to the end-of-text token.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "slm/stories/instruct.h"
#include "slm/model/transformer.h"
#include "slm/tokenizer/bpe.h"

namespace slm::eval {

struct InstructEvalOptions {
  int limit = 0;        // records at most (0: all)
  int batch = 16;       // prompts decoded together
  int max_tokens = 0;   // 0: up to the context
  bool quiet = false;
  // Take the quote marks off the required words of every request before asking
  // (`Include "ball".` -> `Include ball.`): a diagnostic of how much of a model's miss on
  // quoted words is the quotes (docs/alignment.md, item 10). compare_instruct only.
  bool unquote_words = false;
};

struct TaskScore {
  std::string task, kind;
  int n = 0;
  double exact = 0, contains = 0;  // questions
  double words = 0, features = 0;  // writing: share of required words / of features shown
  double rouge = 0;                // rouge tasks
};

struct InstructEval {
  std::vector<TaskScore> tasks;
  int n = 0, skipped = 0;              // skipped: prompts longer than the context
  double exact = -1, contains = -1;    // over all questions (-1: none)
  double words = -1, features = -1;    // over all writing tasks
  double rouge = -1;                   // over all ROUGE-L tasks
  // Checks for an answer that fits every question (a collapsed or reward-hacked model):
  // open_contains is "contains" over the questions whose answer is not yes or no (a
  // constant "Yes." scores about half of those); same_answer is the share of all question
  // outputs that equal (normalised) the single most common one, common_answer that output.
  double open_contains = -1, same_answer = -1;
  std::string common_answer;
  // Required words used, split by whether the request puts them in quotes: a byte-level
  // BPE gives `"ball` and ` ball` different tokens, so a quoted word cannot be copied
  // token for token (docs/alignment.md). -1: no such request.
  double words_quoted = -1, words_unquoted = -1;
  // Required words used, split by how the tokenizer spells them after a space (the
  // story's spelling) against alone, as after a quote (the request's): word_spelling's
  // classes "same", "one_token", "other". -1: no word of that class.
  double words_same = -1, words_one_token = -1, words_other = -1;
  // Writing: the share of a story's distinct word 4-grams that another request's story
  // also has, averaged over the writing outputs of four words or more (-1: fewer than
  // two). A model that writes one story whatever it is asked, the request's hero, words
  // and features ignored, is near 1: the quickstart's fine-tune 0.86, the template a GRPO
  // run on its writing requests found 0.89. slm data instruct's own stories share a fifth
  // to a third (the generator's stock phrases), the recipe's fine-tune 0.43
  // (docs/finetuning.md).
  double story_shared = -1;
  std::vector<nlohmann::json> samples; // every record with its output and scores
  nlohmann::json to_json() const;
};

// SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces.
std::string normalize_answer(const std::string& s);

// How a record is scored: by its task's kind, or for records of unknown tasks by what
// they carry (an answer: "question"; required words: "write"; else "rouge", ROUGE-L).
std::string task_kind(const stories::InstructRecord& r);

// Scores one output against its record into ts (adds to the sums; divide by n after).
void score_output(const stories::InstructRecord& r, const std::string& output, TaskScore& ts, nlohmann::json& sample);

// How tok spells a word after a space against alone (after a quote, a bracket or a line
// start, where the pre-tokenizer splits it off): "same" when after a space it is the space
// token and then exactly its tokens alone (a model copies it token for token from a
// quoted request); "one_token" when after a space it is one token (` ball` against
// `ball`); "other" when it is spelled with other tokens (` alligator` as `Ġall ig a tor`,
// alone `all ig a tor`; GPT-2's BPE spells most words this way).
std::string word_spelling(const tokenizer::Tokenizer& tok, const std::string& word);

// Sets ev's open_contains, same_answer, common_answer, words_quoted, words_unquoted,
// story_shared and the words_by-spelling shares from its scored samples (a writing sample's
// "word_spelling": {word: class}, and "missing_words").
void collapse_checks(InstructEval& ev);

InstructEval eval_instruct(const model::Transformer<float>& m, const tokenizer::Tokenizer& tok,
                           const std::vector<stories::InstructRecord>& records, const InstructEvalOptions& opt);

// Removes the quote marks around each of r's required words in its instruction ("ball"
// -> ball, wherever it is quoted); returns whether anything changed.
bool unquote_required_words(stories::InstructRecord& r);

// Reads a file of `slm data instruct` records (JSONL), naming the line of a bad one.
std::vector<stories::InstructRecord> read_instruct_records(const std::string& path);

// `slm eval instruct`: the model at model_path on the records of data_path, and the base
// model beside it when base_path is not empty (e.g. before fine-tuning). report holds
// {"data", "model", "scores", "samples"} and, with a base, {"base", "base_scores"}; table is
// instruct_table of the two, for a terminal.
struct InstructComparison {
  nlohmann::json report;
  std::string table;
  int skipped = 0;  // records of the model whose prompt does not fit its context
};
InstructComparison compare_instruct(const std::string& model_path, const std::string& base_path,
                                    const std::string& data_path, const InstructEvalOptions& opt);

// slm finetune --eval: the base and the fine-tuned model side by side on records read
// before the run (so a bad file fails before training, not after). tuned_dir is a model
// folder or, with `lora`, a LoRA adapter folder folded into the base for the evaluation.
// report holds {"eval_data", "base", "finetuned", "samples"} (the fine-tuned model's).
InstructComparison compare_finetuned(const std::vector<stories::InstructRecord>& records, const std::string& data_path,
                                     const std::string& base_path, const std::string& tuned_dir, bool lora,
                                     const InstructEvalOptions& opt);

// A side-by-side table of two evaluations (e.g. base and fine-tuned), for a terminal.
std::string instruct_table(const std::vector<std::pair<std::string, const InstructEval*>>& columns);

}  // namespace slm::eval
