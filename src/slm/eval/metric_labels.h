#pragma once
// What each figure of an evaluation means, in words a person reads: the one table the
// report (and anything else that shows figures to people) takes labels from. A key is the
// name a figure has in report.json ("grammar.misspelled_share"); a label is what a person
// sees ("misspelled words"), with one line on how it is measured and which way is better.
#include <string>
#include <string_view>
#include <vector>

namespace slm::eval {

enum class Better { Higher, Lower, Neither };

struct MetricLabel {
  std::string_view key;          // as in report.json: story metrics, "loss.*", "judge.*", "sample.*"
  std::string_view label;        // a few words: "misspelled words"
  std::string_view explanation;  // one line: how it is measured
  Better better;
};

// Every figure the report shows.
const std::vector<MetricLabel>& metric_labels();

// The entry for key, or nullptr when the table has none.
const MetricLabel* find_metric_label(std::string_view key);

// The entry for key; for a key the table lacks, one that shows the key itself, so a new
// figure is still shown (and the test that every figure has words fails).
MetricLabel metric_label(std::string_view key);

// "higher is better", "lower is better", or "" for figures with no better direction.
std::string_view better_words(Better b);
// "↑", "↓" or "".
std::string_view better_arrow(Better b);

}  // namespace slm::eval
