#pragma once
// The GPT-2 pre-tokenizer: splits text into the pieces that BPE then encodes one by one,
// exactly as the regular expression of GPT-2 (tiktoken's "gpt2", Hugging Face's
// ByteLevel pre-tokenizer) does:
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// written out by hand (a regex engine is several times slower). \p{L} and \p{N} are
// Unicode's letter and number categories, \s is Unicode's White_Space. Bytes that are not
// valid UTF-8 count as symbols (the [^\s\p{L}\p{N}] class), so any byte string splits.
#include <cstddef>
#include <string_view>

namespace slm::tokenizer {

enum class CharClass : unsigned char { Letter, Number, Space, Other };

// Decodes the code point at s[i] (len: its byte length, 1 for an invalid byte) and
// returns its class.
CharClass char_class_at(std::string_view s, size_t i, size_t* len);

// Calls fn(piece) for every piece of text, in order; the pieces concatenate to text.
template <class Fn>
void pretokenize(std::string_view text, Fn&& fn);

// The end of the piece that starts at `start` (the core of pretokenize, exposed for tests).
size_t next_piece_end(std::string_view s, size_t start);

template <class Fn>
void pretokenize(std::string_view text, Fn&& fn) {
  size_t i = 0;
  while (i < text.size()) {
    size_t e = next_piece_end(text, i);
    fn(text.substr(i, e - i));
    i = e;
  }
}

}  // namespace slm::tokenizer
