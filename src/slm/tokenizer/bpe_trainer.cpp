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
}

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

  // Every distinct piece as a list of symbols (bytes first), with its count.
  std::vector<std::string> tokens(256);
  for (int b = 0; b < 256; ++b) tokens[size_t(b)] = std::string(1, char(b));
  std::vector<std::vector<uint32_t>> words;
  std::vector<int64_t> freq;
  words.reserve(counts.unique());
  counts.for_each([&](std::string_view p, uint64_t c) {
    if (p.size() < 2) return;  // a single byte has no pair
    words.emplace_back(p.begin(), p.end());
    for (auto& s : words.back()) s &= 0xFF;
    freq.push_back(int64_t(c));
  });
  // Sorted so that the order of the counting threads never matters.
  std::vector<size_t> order(words.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return words[a] < words[b]; });
  {
    std::vector<std::vector<uint32_t>> w2;
    std::vector<int64_t> f2;
    for (size_t i : order) w2.push_back(std::move(words[i])), f2.push_back(freq[i]);
    words.swap(w2);
    freq.swap(f2);
  }

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

  // Two merges can spell the same bytes ("ab"+"c", "a"+"bc"): the second reuses the
  // token, as Hugging Face's trainer does, so count tokens, not merges.
  std::unordered_map<std::string, uint32_t> id_of;
  for (uint32_t t = 0; t < tokens.size(); ++t) id_of.emplace(tokens[t], t);
  const size_t target_tokens = opt.vocab_size - specials.size();
  std::vector<Tokenizer::Merge> merges;
  Progress bar("merges", double(target_tokens - 256), "tokens", opt.quiet);
  std::unordered_map<uint64_t, int64_t> delta;
  while (tokens.size() < target_tokens && !heap.empty()) {
    Candidate top = heap.top();
    heap.pop();
    auto pc = pair_count.find(top.pair);
    if (pc == pair_count.end() || pc->second != top.count) continue;  // stale entry
    if (top.count < int64_t(std::max<uint64_t>(1, opt.min_frequency))) break;
    const uint32_t a = uint32_t(top.pair >> 32), b = uint32_t(top.pair & 0xFFFFFFFF);
    std::string bytes = tokens[a] + tokens[b];
    auto [it, fresh] = id_of.emplace(bytes, uint32_t(tokens.size()));
    const uint32_t made = it->second;
    if (fresh) tokens.push_back(std::move(bytes));
    merges.push_back({a, b});

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
    bar.update(double(tokens.size() - 256));
  }
  bar.finish();

  std::vector<std::pair<std::string, uint32_t>> special_ids;
  for (const auto& s : specials) {
    special_ids.emplace_back(s, uint32_t(tokens.size()));
    tokens.push_back(s);
  }
  return Tokenizer(std::move(tokens), std::move(merges), std::move(special_ids));
}

}  // namespace slm::tokenizer
