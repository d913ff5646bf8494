#pragma once
// A byte-level BPE tokenizer, as GPT-2 and Hugging Face's ByteLevel BPE define it: text is
// split by the GPT-2 pre-tokenizer, each piece's bytes start as 256 byte tokens, and
// learned merges join adjacent tokens, lowest merge rank first. Special tokens (such as
// <|endoftext|>) are matched in the text before splitting and never split or merged.
// Loads and saves Hugging Face's tokenizer.json; encodes to the same ids as HF tokenizers.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace slm::tokenizer {

constexpr std::string_view kEndOfText = "<|endoftext|>";

class Tokenizer {
 public:
  struct Merge {
    uint32_t left, right;
  };
  // tokens: id -> raw bytes (ids 0..255 need not be the bytes); merges in rank order,
  // each producing the token whose bytes are left's + right's; specials: (content, id).
  Tokenizer(std::vector<std::string> tokens, std::vector<Merge> merges,
            std::vector<std::pair<std::string, uint32_t>> specials);

  // Hugging Face tokenizer.json. Throws slm::Error naming the field that is missing,
  // malformed or unsupported (where: "PATH: FIELD").
  static Tokenizer load(const std::string& path);
  static Tokenizer from_json(std::string_view json, const std::string& origin = "tokenizer.json");
  std::string to_json() const;
  void save(const std::string& path) const;  // atomic

  // Appends the ids of text. With specials, special tokens in the text become their ids;
  // without, they are encoded as ordinary text.
  void encode(std::string_view text, std::vector<uint32_t>& out, bool specials = true) const;
  std::vector<uint32_t> encode(std::string_view text, bool specials = true) const;
  // The bytes of the ids (decode(encode(x)) == x for any bytes x).
  std::string decode(const std::vector<uint32_t>& ids) const;
  void decode_append(uint32_t id, std::string& out) const;

  size_t vocab_size() const { return tokens_.size(); }
  const std::string& token(uint32_t id) const { return tokens_[id]; }
  const std::vector<Merge>& merges() const { return merges_; }
  const std::vector<std::pair<std::string, uint32_t>>& specials() const { return specials_; }
  bool is_special(uint32_t id) const;
  // The id of a special token; throws when there is none with that content.
  uint32_t special_id(std::string_view content) const;
  uint32_t eot() const { return special_id(kEndOfText); }

 private:
  void encode_piece(std::string_view piece, std::vector<uint32_t>& out) const;
  void encode_ordinary(std::string_view text, std::vector<uint32_t>& out) const;

  std::vector<std::string> tokens_;
  std::vector<Merge> merges_;
  std::vector<std::pair<std::string, uint32_t>> specials_;
  uint32_t byte_token_[256];
  std::unordered_map<uint64_t, uint32_t> rank_;  // (left << 32 | right) -> merge rank
  std::vector<uint32_t> merged_;                 // merge rank -> the token it makes
  // Identifies this vocabulary for the per-thread cache of encoded pieces (bpe.cpp).
  uint64_t uid_;
};

}  // namespace slm::tokenizer
