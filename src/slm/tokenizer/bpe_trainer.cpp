#include "slm/tokenizer/bpe_trainer.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "slm/tokenizer/pretokenizer.h"
#include "slm/util/error.h"
#include "slm/util/hash.h"
#include "slm/util/progress.h"

namespace slm::tokenizer {

// ---------------------------------------------------------------- counting pieces

WordCounts::WordCounts() : slots_(1 << 12) {}

void WordCounts::grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const auto& s : old) {
    if (!s.hash) continue;
    size_t i = s.hash & mask;
    while (slots_[i].hash) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

void WordCounts::add(std::string_view piece, uint64_t count) {
  total_ += count;
  uint64_t h = hash64(piece) | 1;  // never 0, which marks an empty slot
  size_t mask = slots_.size() - 1, i = h & mask;
  while (slots_[i].hash) {
    Slot& s = slots_[i];
    if (s.hash == h && s.len == piece.size() && std::string_view(arena_).substr(s.off, s.len) == piece) {
      s.count += count;
      return;
    }
    i = (i + 1) & mask;
  }
  slots_[i] = {h, arena_.size(), uint32_t(piece.size()), count};
  arena_.append(piece);
  if (++used_ * 2 > slots_.size()) grow();
}

void WordCounts::add_text(std::string_view text, const std::vector<std::string>& specials) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t cut = text.size(), len = 0;
    for (const auto& s : specials) {
      if (s.empty()) continue;  // would match everywhere; train_bpe rejects it
      size_t at = text.find(s, pos);
      if (at < cut) cut = at, len = s.size();
    }
    pretokenize(text.substr(pos, cut - pos), [&](std::string_view p) { add(p); });
    pos = cut + len;
  }
}

void WordCounts::merge_from(const WordCounts& other) {
  other.for_each([&](std::string_view p, uint64_t c) { add(p, c); });
}

// ---------------------------------------------------------------- merging

namespace {

uint64_t key(uint32_t a, uint32_t b) { return (uint64_t(a) << 32) | b; }

struct Candidate {
  int64_t count;
  uint64_t pair;
  // The heap's top: the highest count, then the lowest pair (left id, then right id).
  bool operator<(const Candidate& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

}  // namespace

void check_train_options(const TrainOptions& opt) {
  for (const auto& s : opt.specials)
    if (s.empty()) throw Error("a special token is empty", "--special");
  if (opt.vocab_size < 257)
    throw Error("vocabulary size " + std::to_string(opt.vocab_size) +
                    " is below the 256 byte tokens plus the special token(s)",
                "--vocab-size");
  if (!(opt.space_merges >= 0 && opt.space_merges < 1))
    throw Error("the share of space merges must be in [0, 1), got " + std::to_string(opt.space_merges),
                "--space-merges");
}

namespace {

// The merging state: the vocabulary so far and the distinct pieces as symbol lists.
struct MergeState {
  std::vector<std::string> tokens;                   // id -> bytes
  std::unordered_map<std::string, uint32_t> id_of;   // bytes -> id
  std::vector<Tokenizer::Merge> merges;               // in rank order
  std::vector<std::vector<uint32_t>> words;           // each distinct piece, as token ids
  std::vector<int64_t> freq;                          // its count

  MergeState() : tokens(256) {
    for (int b = 0; b < 256; ++b) tokens[size_t(b)] = std::string(1, char(b)), id_of.emplace(tokens[size_t(b)], b);
  }
  // Two merges can spell the same bytes ("ab"+"c", "a"+"bc"): the second reuses the
  // token, as Hugging Face's trainer does, so count tokens, not merges.
  uint32_t add_merge(uint32_t a, uint32_t b) {
    std::string bytes = tokens[a] + tokens[b];
    auto [it, fresh] = id_of.emplace(bytes, uint32_t(tokens.size()));
    if (fresh) tokens.push_back(std::move(bytes));
    merges.push_back({a, b});
    return it->second;
  }
};

// Adds the pieces (sorted, so that the order of the counting threads never matters) and
// returns, for each row of st.words added, the index of its piece in pieces.
std::vector<size_t> add_words(MergeState& st, const std::vector<std::pair<std::string, int64_t>>& pieces) {
  std::vector<size_t> order(pieces.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return pieces[a].first < pieces[b].first; });
  std::vector<size_t> rows;
  for (size_t i : order) {
    const auto& [p, c] = pieces[i];
    if (p.size() < 2) continue;  // a single byte has no pair
    st.words.emplace_back(p.begin(), p.end());
    for (auto& sym : st.words.back()) sym &= 0xFF;
    st.freq.push_back(c);
    rows.push_back(i);
  }
  return rows;
}

// Classic BPE: merges the most frequent adjacent pair of st.words until the vocabulary
// holds target_tokens tokens or no pair is seen min_frequency times.
void merge_frequent_pairs(MergeState& st, size_t target_tokens, uint64_t min_frequency, Progress& bar) {
  auto& words = st.words;
  const auto& freq = st.freq;
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;  // pair -> words holding it
  for (uint32_t w = 0; w < words.size(); ++w) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t k = key(s[i], s[i + 1]);
      pair_count[k] += freq[w];
      auto& list = where[k];
      if (list.empty() || list.back() != w) list.push_back(w);
    }
  }
  std::priority_queue<Candidate> heap;
  for (const auto& [k, c] : pair_count) heap.push({c, k});

  std::unordered_map<uint64_t, int64_t> delta;
  while (st.tokens.size() < target_tokens && !heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    auto pc = pair_count.find(top.pair);
    if (pc == pair_count.end() || pc->second != top.count) continue;  // stale entry
    if (top.count < int64_t(std::max<uint64_t>(1, min_frequency))) break;
    const uint32_t a = uint32_t(top.pair >> 32), b = uint32_t(top.pair & 0xFFFFFFFF);
    const uint32_t made = st.add_merge(a, b);

    std::vector<uint32_t> affected = std::move(where[top.pair]);
    where.erase(top.pair);
    delta.clear();
    for (uint32_t w : affected) {
      auto& s = words[w];
      const int64_t f = freq[w];
      bool found = false;
      for (size_t i = 0; i + 1 < s.size() && !found; ++i) found = s[i] == a && s[i + 1] == b;
      if (!found) continue;
      for (size_t i = 0; i + 1 < s.size(); ++i) delta[key(s[i], s[i + 1])] -= f;
      size_t out = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          s[out++] = made;
          ++i;
        } else {
          s[out++] = s[i];
        }
      }
      s.resize(out);
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        uint64_t k = key(s[i], s[i + 1]);
        delta[k] += f;
        if (s[i] == made || s[i + 1] == made) {
          auto& list = where[k];
          if (list.empty() || list.back() != w) list.push_back(w);
        }
      }
    }
    for (const auto& [k, d] : delta) {
      if (d == 0) continue;
      int64_t& c = pair_count[k];
      c += d;
      if (c > 0) heap.push({c, k});
    }
    pair_count.erase(top.pair);
    bar.update(double(st.tokens.size() - 256));
  }
}

// A piece of one space and then more ("Ġoctopus", "Ġ\""): the space and its body.
bool spaced(std::string_view p) { return p.size() >= 2 && p[0] == ' ' && p[1] != ' '; }

// --space-merges: every piece is first split into a body with no leading space, and the
// bodies are merged (so "octopus" gets the same tokens after a space, a quote or a line
// start); only then does the space join the commonest bodies that became one token (" the",
// " ball"), for the share of the merges asked. Those merges rank last, so encoding splits
// any body as the trainer did, and a rarer word is a space token and its body (" octopus"
// is " " + "octopus"'s tokens). The tokenizer is an ordinary byte-level BPE (Hugging
// Face, llama.cpp).
// Returns how many space merges there were candidates for; fewer than space_tokens when
// the corpus has fewer one-token bodies than that.
size_t train_space_last(MergeState& st, const WordCounts& counts, size_t target_tokens, size_t space_tokens,
                        const TrainOptions& opt, Progress& bar) {
  std::unordered_map<std::string, std::pair<int64_t, int64_t>> bodies;  // body -> (count, after a space)
  counts.for_each([&](std::string_view p, uint64_t c) {
    auto& e = bodies[std::string(spaced(p) ? p.substr(1) : p)];
    e.first += int64_t(c);
    if (spaced(p)) e.second += int64_t(c);
  });
  std::vector<std::pair<std::string, int64_t>> pieces;
  pieces.reserve(bodies.size());
  for (const auto& [b, c] : bodies) pieces.emplace_back(b, c.first);
  const auto rows = add_words(st, pieces);  // the bodies of two bytes or more
  merge_frequent_pairs(st, target_tokens - space_tokens, opt.min_frequency, bar);

  // The bodies that are one token now, by how often they follow a space.
  std::vector<std::pair<int64_t, uint32_t>> ranked;  // (-count, token): commonest first, ties to the lower id
  for (size_t i = 0; i < rows.size(); ++i) {
    const int64_t after_space = bodies.at(pieces[rows[i]].first).second;
    if (after_space > 0 && st.words[i].size() == 1) ranked.emplace_back(-after_space, st.words[i][0]);
  }
  for (const auto& [b, c] : bodies)
    if (b.size() == 1 && c.second > 0) ranked.emplace_back(-c.second, uint32_t(uint8_t(b[0])));
  std::sort(ranked.begin(), ranked.end());
  size_t candidates = 0;
  for (const auto& [negc, t] : ranked) {
    if (-negc < int64_t(std::max<uint64_t>(1, opt.min_frequency))) break;
    ++candidates;
    if (st.tokens.size() >= target_tokens) continue;
    st.add_merge(uint32_t(' '), t);
    bar.update(double(st.tokens.size() - 256));
  }
  return candidates;
}

}  // namespace

Tokenizer train_bpe(const WordCounts& counts, const TrainOptions& opt) {
  check_train_options(opt);
  std::vector<std::string> specials = opt.specials;
  if (std::find(specials.begin(), specials.end(), kEndOfText) == specials.end())
    specials.insert(specials.begin(), std::string(kEndOfText));
  const size_t floor = 256 + specials.size();
  if (opt.vocab_size < floor)
    throw Error("vocabulary size " + std::to_string(opt.vocab_size) + " is below the 256 byte tokens plus " +
                    std::to_string(specials.size()) + " special token(s) (" + std::to_string(floor) + ")",
                "--vocab-size");
  if (counts.unique() == 0) throw Error("the corpus is empty: no text to learn a vocabulary from");

  MergeState st;
  const size_t target_tokens = opt.vocab_size - specials.size();
  Progress bar("merges", double(target_tokens - 256), "tokens", opt.quiet);
  if (opt.space_merges > 0) {
    // A small corpus may have fewer first tokens than the share asks for: then the body
    // merges get the rest (a retry, as a body merge may not rank after a space merge).
    size_t space_tokens = size_t(double(target_tokens - 256) * opt.space_merges + 0.5);
    for (int attempt = 0; attempt < 4; ++attempt) {
      st = MergeState();
      size_t room = train_space_last(st, counts, target_tokens, space_tokens, opt, bar);
      if (room >= space_tokens || st.tokens.size() >= target_tokens) break;
      space_tokens = room;
    }
  } else {
    std::vector<std::pair<std::string, int64_t>> pieces;
    pieces.reserve(counts.unique());
    counts.for_each([&](std::string_view p, uint64_t c) { pieces.emplace_back(std::string(p), int64_t(c)); });
    add_words(st, pieces);
    merge_frequent_pairs(st, target_tokens, opt.min_frequency, bar);
  }
  bar.finish();

  std::vector<std::pair<std::string, uint32_t>> special_ids;
  for (const auto& s : specials) {
    special_ids.emplace_back(s, uint32_t(st.tokens.size()));
    st.tokens.push_back(s);
  }
  return Tokenizer(std::move(st.tokens), std::move(st.merges), std::move(special_ids));
}

}  // namespace slm::tokenizer
