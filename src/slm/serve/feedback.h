#pragma once
// People as judges: ratings of stories (TinyStories' rubric, 1-5 stars each, a thumbs up
// or down, a story edited into a better one) and arena picks (two stories for one request,
// the person picks the better) kept in SQLite, and exported as data the next fine-tuning
// reads: sft.jsonl (Alpaca records) and preferences.jsonl ({prompt, chosen, rejected}).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace slm::serve {

struct Rating {
  std::string model, prompt, story, edited;  // edited: "" when the person did not edit
  std::string rater;  // who rated (a name the page remembers); "" when not given
  // TinyStories' rubric, 1-5 stars each; 0 when not rated.
  int grammar = 0, creativity = 0, consistency = 0, plot = 0, age = 0;
  int thumbs = 0;  // +1 up, -1 down, 0 none
  // Stars' mean (of those given) plus the thumb, for ranking two stories of one prompt.
  double score() const;
};

// Reads a rating from a JSON body: {model, prompt, story, edited?, grammar?, creativity?,
// consistency?, plot?, age_appropriate?, thumbs?: "up"|"down"}. Throws ApiError (400)
// naming the field.
Rating parse_rating(const std::string& body);

// One arena round: two stories written for the same request (by two models, or two
// samples of one), and the person's pick.
struct ArenaPick {
  std::string prompt, model_a, story_a, model_b, story_b;
  std::string winner;  // "a", "b", "tie" or "both_bad"
  std::string rater;
};
// Reads {prompt, model_a, story_a, model_b, story_b, winner, rater?}; throws ApiError (400)
// naming the field.
ArenaPick parse_arena_pick(const std::string& body);

// The database (WAL mode, every insert committed and synced before add() returns, so
// an acknowledged rating survives the server being killed).
class FeedbackStore {
 public:
  explicit FeedbackStore(const std::string& path);  // creates the file and table if new
  ~FeedbackStore();
  FeedbackStore(const FeedbackStore&) = delete;
  FeedbackStore& operator=(const FeedbackStore&) = delete;
  int64_t add(const Rating& r);  // thread-safe; returns the rating's id
  int64_t add(const ArenaPick& p);
  std::vector<Rating> all() const;
  std::vector<ArenaPick> arena() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ExportCounts {
  size_t ratings = 0, arena = 0, sft = 0, preferences = 0;
};
// Writes out_dir/sft.jsonl ({"instruction": prompt, "input": "", "output": story} for each
// edited story and each story with a thumb up or 4+ stars on average) and
// out_dir/preferences.jsonl (an edited story over its original; of two rated stories of
// one prompt, the higher scored over the lower; an arena pick's story over the other).
// The folder appears whole or not at all.
ExportCounts export_feedback(const std::string& db, const std::string& out_dir);

}  // namespace slm::serve
