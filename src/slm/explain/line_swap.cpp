#include "slm/explain/line_swap.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "slm/util/error.h"
#include "slm/util/progress.h"
#include "slm/util/rng.h"

namespace slm::explain {

LineSpan find_line(const std::string& doc, const std::string& prefix) {
  for (size_t at = 0; at < doc.size();) {
    const size_t nl = doc.find('\n', at);  // the end of the line starting at `at`
    if (doc.compare(at, prefix.size(), prefix) == 0)
      return nl == std::string::npos || nl + 1 >= doc.size() ? LineSpan{} : LineSpan{at, nl + 1};  // {}: nothing after it
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return {};
}

std::vector<size_t> derangement(size_t n, uint64_t seed) {
  if (n < 2) throw Error("a derangement needs two items or more", "line swap");
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  Rng rng(seed);
  for (size_t i = n - 1; i > 0; --i) std::swap(p[i], p[rng.below(uint32_t(i))]);  // j < i: Sattolo
  return p;
}

namespace {

// The mean loss of the first `scored` tokens of the tail after head + line.
double tail_loss(model::Transformer<float>& m, const DocumentParts& p, const std::vector<uint32_t>& line, int64_t scored) {
  std::vector<int32_t> ids;
  for (const auto* part : {&p.head, &line, &p.tail}) ids.insert(ids.end(), part->begin(), part->end());
  const size_t first = p.head.size() + line.size();  // the tail's first token
  const size_t n = first + size_t(scored);           // tokens needed: every scored one is a target
  std::vector<int32_t> y(n - 1, -1);
  for (size_t t = first; t < n; ++t) y[t - 1] = ids[t];
  return m.loss(ids.data(), y.data(), 1, int(n - 1));
}

}  // namespace

LineSwap line_swap_parts(model::Transformer<float>& m, const std::vector<DocumentParts>& parts, uint64_t seed,
                         bool quiet) {
  if (parts.size() < 2) throw Error("a swap needs two documents with the line", "--line");
  for (const auto& p : parts)  // the line's last token (or the head's) predicts the tail's first
    if (p.line.empty()) throw Error("a document's line has no tokens", "--line");
  LineSwap r;
  const std::vector<size_t> other = derangement(parts.size(), seed);
  const int64_t context = m.config().context;
  double sum_written = 0, sum_swapped = 0;
  Progress bar("line swap", double(parts.size()), "documents", quiet);
  for (size_t i = 0; i < parts.size(); ++i) {
    const DocumentParts& p = parts[i];
    const std::vector<uint32_t>& swapped = parts[other[i]].line;
    // The same tail tokens in both versions: as many as fit after the longer of the lines.
    const int64_t before = int64_t(p.head.size() + std::max(p.line.size(), swapped.size()));
    const int64_t scored = std::min(int64_t(p.tail.size()), context + 1 - before);
    bar.update(double(i + 1));
    if (scored < 1) {
      ++r.past_context;
      continue;
    }
    sum_written += tail_loss(m, p, p.line, scored) * double(scored);
    sum_swapped += tail_loss(m, p, swapped, scored) * double(scored);
    r.tokens += scored;
    ++r.documents;
  }
  bar.finish();
  if (r.tokens == 0) throw Error("no document's text after the line starts within the model's context", "--line");
  r.loss_written = sum_written / double(r.tokens);
  r.loss_swapped = sum_swapped / double(r.tokens);
  return r;
}

LineSwap line_swap(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::vector<std::string>& docs,
                   const std::string& prefix, uint64_t seed, bool quiet) {
  if (prefix.empty() || prefix.find('\n') != std::string::npos)
    throw Error("the line's prefix must be some text of one line (e.g. 'Words:')", "--line");
  std::vector<DocumentParts> parts;
  int without = 0;
  for (const auto& d : docs) {
    const LineSpan s = find_line(d, prefix);
    if (s.begin == s.end) {
      ++without;
      continue;
    }
    parts.push_back({tok.encode(d.substr(0, s.begin)), tok.encode(d.substr(s.begin, s.end - s.begin)),
                     tok.encode(d.substr(s.end))});
  }
  if (parts.size() < 2)
    throw Error(fmt::format("{} of the {} documents have a line starting with '{}' and text after it: "
                            "a swap needs two", parts.size(), docs.size(), prefix), "--line");
  LineSwap r = line_swap_parts(m, parts, seed, quiet);
  r.without_line = without;
  return r;
}

}  // namespace slm::explain
