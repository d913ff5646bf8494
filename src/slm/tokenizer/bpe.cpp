#include "slm/tokenizer/bpe.h"

#include <atomic>
#include <queue>

#include "slm/tokenizer/pretokenizer.h"
#include "slm/util/error.h"

namespace slm::tokenizer {

namespace {

std::atomic<uint64_t> next_uid{1};

uint64_t pair_key(uint32_t a, uint32_t b) { return (uint64_t(a) << 32) | b; }

// Pieces already encoded, per thread: text repeats its words, so most pieces are found
// here. Bounded: cleared when it grows past kMaxEntries.
struct PieceCache {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t owner = 0;
  std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>> map;
  static constexpr size_t kMaxEntries = 1 << 18;
};

PieceCache& cache_for(uint64_t uid) {
  thread_local PieceCache cache;
  if (cache.owner != uid || cache.map.size() > PieceCache::kMaxEntries) {
    cache.map.clear();
    cache.owner = uid;
  }
  return cache;
}

}  // namespace

Tokenizer::Tokenizer(std::vector<std::string> tokens, std::vector<Merge> merges,
                     std::vector<std::pair<std::string, uint32_t>> specials)
    : tokens_(std::move(tokens)), merges_(std::move(merges)), specials_(std::move(specials)),
      uid_(next_uid.fetch_add(1)) {
  std::unordered_map<std::string, uint32_t> by_bytes;
  for (uint32_t id = 0; id < tokens_.size(); ++id)
    if (!is_special(id)) by_bytes.emplace(tokens_[id], id);
  for (int b = 0; b < 256; ++b) {
    auto it = by_bytes.find(std::string(1, char(b)));
    if (it == by_bytes.end()) throw Error("byte " + std::to_string(b) + " has no token: not a byte-level vocabulary");
    byte_token_[b] = it->second;
  }
  merged_.reserve(merges_.size());
  for (uint32_t r = 0; r < merges_.size(); ++r) {
    const auto& m = merges_[r];
    if (m.left >= tokens_.size() || m.right >= tokens_.size()) throw Error("merge " + std::to_string(r) + " names an unknown token");
    auto it = by_bytes.find(tokens_[m.left] + tokens_[m.right]);
    if (it == by_bytes.end()) throw Error("merge " + std::to_string(r) + " makes a token that is not in the vocabulary");
    rank_.emplace(pair_key(m.left, m.right), r);  // the first (lowest) rank wins on repeats
    merged_.push_back(it->second);
  }
}

bool Tokenizer::is_special(uint32_t id) const {
  for (const auto& s : specials_)
    if (s.second == id) return true;
  return false;
}

uint32_t Tokenizer::special_id(std::string_view content) const {
  for (const auto& s : specials_)
    if (s.first == content) return s.second;
  throw Error("the tokenizer has no special token " + std::string(content));
}

// BPE on one piece: start from its bytes, merge the adjacent pair of lowest rank
// (leftmost first on ties) until no pair can merge. A heap of candidate pairs over a
// linked list keeps long pieces (runs of spaces, long words) from costing n^2.
void Tokenizer::encode_piece(std::string_view piece, std::vector<uint32_t>& out) const {
  const size_t n = piece.size();
  if (n == 1) {
    out.push_back(byte_token_[(unsigned char)piece[0]]);
    return;
  }
  PieceCache& cache = cache_for(uid_);
  if (auto it = cache.map.find(piece); it != cache.map.end()) {
    out.insert(out.end(), it->second.begin(), it->second.end());
    return;
  }
  std::vector<uint32_t> id(n);
  std::vector<int32_t> prev(n), next(n);
  for (size_t i = 0; i < n; ++i) {
    id[i] = byte_token_[(unsigned char)piece[i]];
    prev[i] = int32_t(i) - 1;
    next[i] = i + 1 < n ? int32_t(i + 1) : -1;
  }
  struct Cand {
    uint32_t rank;
    int32_t pos;
    uint32_t left, right;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto consider = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = rank_.find(pair_key(id[pos], id[next[pos]]));
    if (it != rank_.end()) heap.push({it->second, pos, id[pos], id[next[pos]]});
  };
  for (int32_t i = 0; i + 1 < int32_t(n); ++i) consider(i);
  std::vector<bool> dead(n, false);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    int32_t nx = next[c.pos];
    // Stale: a neighbour merged since this candidate was pushed.
    if (dead[c.pos] || nx < 0 || id[c.pos] != c.left || id[nx] != c.right) continue;
    id[c.pos] = merged_[c.rank];
    dead[nx] = true;
    next[c.pos] = next[nx];
    if (next[nx] >= 0) prev[next[nx]] = c.pos;
    consider(prev[c.pos]);
    consider(c.pos);
  }
  std::vector<uint32_t> ids;
  for (int32_t i = 0; i >= 0; i = next[i]) ids.push_back(id[i]);
  out.insert(out.end(), ids.begin(), ids.end());
  cache.map.emplace(std::string(piece), std::move(ids));
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<uint32_t>& out) const {
  pretokenize(text, [&](std::string_view piece) { encode_piece(piece, out); });
}

void Tokenizer::encode(std::string_view text, std::vector<uint32_t>& out, bool specials) const {
  if (!specials || specials_.empty()) {
    encode_ordinary(text, out);
    return;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    // The earliest special token from pos (the longest one when several start there).
    size_t best = std::string_view::npos, best_len = 0;
    uint32_t best_id = 0;
    for (const auto& [content, sid] : specials_) {
      if (content.empty()) continue;
      size_t at = text.find(content, pos);
      if (at < best || (at == best && at != std::string_view::npos && content.size() > best_len)) {
        best = at;
        best_len = content.size();
        best_id = sid;
      }
    }
    if (best == std::string_view::npos) {
      encode_ordinary(text.substr(pos), out);
      return;
    }
    encode_ordinary(text.substr(pos, best - pos), out);
    out.push_back(best_id);
    pos = best + best_len;
  }
}

std::vector<uint32_t> Tokenizer::encode(std::string_view text, bool specials) const {
  std::vector<uint32_t> out;
  encode(text, out, specials);
  return out;
}

void Tokenizer::decode_append(uint32_t id, std::string& out) const {
  if (id >= tokens_.size()) throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                                        std::to_string(tokens_.size()));
  out += tokens_[id];
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids) const {
  std::string out;
  for (uint32_t id : ids) decode_append(id, out);
  return out;
}

}  // namespace slm::tokenizer
