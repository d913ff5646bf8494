#pragma once
// Text helpers shared by every stage: UTF-8 validation, NFC normalisation, whitespace
// cleanup, JSON string escaping.
#include <string>
#include <string_view>

namespace slm {

// Byte offset of the first invalid UTF-8 sequence in s, or npos when s is valid.
// Overlong forms, surrogates and code points above U+10FFFF are invalid.
size_t utf8_invalid_at(std::string_view s);

// Unicode NFC of valid UTF-8 (composed forms, so "e" + U+0301 becomes "é").
std::string nfc(std::string_view valid_utf8);

// Whitespace cleanup for corpora: CRLF and CR become LF; tabs, no-break and other
// horizontal spaces become one space; control characters go; spaces at line ends go;
// runs of spaces become one; three or more line breaks become two (a paragraph break);
// leading and trailing whitespace goes.
std::string clean_whitespace(std::string_view s);

// Appends s as a JSON string literal (with quotes) to out. s must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

// ASCII helpers.
inline bool is_ascii_alpha(char c) { return (c | 32) >= 'a' && (c | 32) <= 'z'; }
inline char ascii_upper(char c) { return c >= 'a' && c <= 'z' ? char(c - 32) : c; }
inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; }

}  // namespace slm
