#include "slm/util/rouge.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace slm {

std::vector<std::string> rouge_tokens(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    char l = (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      cur.push_back(l);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

namespace {

template <class Tok>
size_t lcs_length(const std::vector<Tok>& a, const std::vector<Tok>& b) {
  std::vector<size_t> row(b.size() + 1, 0);
  for (size_t i = 0; i < a.size(); ++i) {
    size_t diag = 0;  // row[j] of the previous i
    for (size_t j = 0; j < b.size(); ++j) {
      size_t up = row[j + 1];
      row[j + 1] = a[i] == b[j] ? diag + 1 : std::max(up, row[j]);
      diag = up;
    }
  }
  return row[b.size()];
}

double f_measure(size_t lcs, size_t n, size_t m) { return n + m ? 2.0 * double(lcs) / double(n + m) : 0.0; }

}  // namespace

double rouge_l(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return 0;
  return f_measure(lcs_length(a, b), a.size(), b.size());
}

double rouge_l(std::string_view a, std::string_view b) { return rouge_l(rouge_tokens(a), rouge_tokens(b)); }

std::vector<bool> rouge_l_dedup(const std::vector<std::string>& texts, double t) {
  const size_t N = texts.size();
  // Tokens as ids; for the overlap bound each occurrence is its own element ("the#2").
  std::unordered_map<std::string, int32_t> ids, occ_ids;
  std::vector<std::vector<int32_t>> seq(N), bag(N);
  std::vector<int64_t> freq;
  for (size_t i = 0; i < N; ++i) {
    std::unordered_map<int32_t, int> seen;
    for (auto& tok : rouge_tokens(texts[i])) {
      auto [it, fresh] = ids.emplace(tok, int32_t(ids.size()));
      seq[i].push_back(it->second);
      auto [ot, ofresh] = occ_ids.emplace(tok + "#" + std::to_string(seen[it->second]++), int32_t(occ_ids.size()));
      if (ofresh) freq.push_back(0);
      ++freq[size_t(ot->second)];
      bag[i].push_back(ot->second);
    }
  }
  // Global order: rarest first, so prefixes hold the tokens that discriminate.
  std::vector<int32_t> rank(freq.size());
  {
    std::vector<int32_t> order(freq.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = int32_t(k);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return freq[size_t(a)] != freq[size_t(b)] ? freq[size_t(a)] < freq[size_t(b)] : a < b; });
    for (size_t k = 0; k < order.size(); ++k) rank[size_t(order[k])] = int32_t(k);
  }
  // F > t needs overlap O > t(n+m)/2, and with O <= m that gives O >= t n / (2 - t):
  // the first common token (in the global order) then lies in both records' prefixes
  // of length n - ceil(t n / (2 - t)) + 1.
  auto prefix_len = [&](size_t n) {
    size_t need = size_t(std::ceil(t * double(n) / (2.0 - t) - 1e-9));
    return need == 0 ? n : std::min(n, n - need + 1);
  };
  std::unordered_map<int32_t, std::vector<uint32_t>> index;  // token -> kept records with it in their prefix
  std::vector<bool> keep(N, true);
  std::vector<uint32_t> stamp(N, UINT32_MAX);
  for (size_t i = 0; i < N; ++i) {
    auto& b = bag[i];
    std::sort(b.begin(), b.end(), [&](int32_t x, int32_t y) { return rank[size_t(x)] < rank[size_t(y)]; });
    const size_t p = prefix_len(b.size());
    bool dup = false;
    for (size_t k = 0; k < p && !dup; ++k) {
      auto it = index.find(b[k]);
      if (it == index.end()) continue;
      for (uint32_t j : it->second) {
        if (stamp[j] == i) continue;  // already compared
        stamp[j] = uint32_t(i);
        const size_t n = seq[i].size(), m = seq[j].size();
        if (f_measure(std::min(n, m), n, m) <= t) continue;  // even a full match could not pass
        if (f_measure(lcs_length(seq[i], seq[j]), n, m) > t) {
          dup = true;
          break;
        }
      }
    }
    if (dup) {
      keep[i] = false;
      continue;
    }
    for (size_t k = 0; k < p; ++k) index[b[k]].push_back(uint32_t(i));
  }
  // Empty texts have no tokens to compare: two of them are duplicates of each other.
  bool empty_kept = false;
  for (size_t i = 0; i < N; ++i)
    if (seq[i].empty()) {
      if (empty_kept) keep[i] = false;
      empty_kept = true;
    }
  return keep;
}

}  // namespace slm
