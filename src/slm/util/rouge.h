#pragma once
// ROUGE-L (Lin, 2004) as Google's rouge_score computes it without stemming: lower-case
// ASCII letter/digit runs as tokens, F-measure from the longest common subsequence.
// And the near-duplicate filter of Stanford Alpaca's self-instruct: a text is dropped
// when its ROUGE-L F to a text already kept is above a threshold (0.7 there).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace slm {

std::vector<std::string> rouge_tokens(std::string_view text);

// The LCS-based F-measure (beta = 1) of two token sequences; 0 when either is empty.
double rouge_l(const std::vector<std::string>& a, const std::vector<std::string>& b);
double rouge_l(std::string_view a, std::string_view b);

// keep[i] is false when texts[i]'s ROUGE-L F to an earlier kept text exceeds threshold.
// Exact, but fast on many texts: since LCS <= the bag overlap, a pair can only pass when
// the bags overlap enough, and a prefix filter over the rarest tokens (a standard
// similarity-join index) finds every such pair without comparing all of them.
std::vector<bool> rouge_l_dedup(const std::vector<std::string>& texts, double threshold);

}  // namespace slm
