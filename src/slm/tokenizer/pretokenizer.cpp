#include "slm/tokenizer/pretokenizer.h"

#include <utf8proc.h>

#include <array>

namespace slm::tokenizer {

namespace {

// ASCII classes by table: most text is ASCII, and this is the hot loop of encoding.
constexpr std::array<CharClass, 128> make_ascii_table() {
  std::array<CharClass, 128> t{};
  for (int c = 0; c < 128; ++c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) t[c] = CharClass::Letter;
    else if (c >= '0' && c <= '9') t[c] = CharClass::Number;
    else if (c == ' ' || (c >= 9 && c <= 13)) t[c] = CharClass::Space;
    else t[c] = CharClass::Other;
  }
  return t;
}
constexpr auto kAscii = make_ascii_table();

bool is_white_space(int32_t cp) {  // Unicode's White_Space property beyond ASCII
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

CharClass class_of(int32_t cp) {
  if (is_white_space(cp)) return CharClass::Space;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return CharClass::Letter;
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return CharClass::Number;
    default:
      return CharClass::Other;
  }
}

// Does a contraction ('s 't 're 've 'm 'll 'd) start at s[i]? Returns its length or 0.
size_t contraction_at(std::string_view s, size_t i) {
  if (s[i] != '\'' || i + 1 >= s.size()) return 0;
  char a = s[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < s.size()) {
    char b = s[i + 2];
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

}  // namespace

CharClass char_class_at(std::string_view s, size_t i, size_t* len) {
  unsigned char c = (unsigned char)s[i];
  if (c < 0x80) {
    *len = 1;
    return kAscii[c];
  }
  utf8proc_int32_t cp;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i), utf8proc_ssize_t(s.size() - i), &cp);
  if (n < 1) {  // invalid UTF-8: one byte, a symbol
    *len = 1;
    return CharClass::Other;
  }
  *len = size_t(n);
  return class_of(cp);
}

size_t next_piece_end(std::string_view s, size_t i) {
  if (size_t c = contraction_at(s, i)) return i + c;
  size_t len;
  CharClass cls = char_class_at(s, i, &len);
  size_t j = i;
  // " ?X+": an optional leading space joins a run of letters, numbers or symbols.
  if (s[i] == ' ' && i + 1 < s.size()) {
    size_t len2;
    CharClass next = char_class_at(s, i + 1, &len2);
    if (next != CharClass::Space) {
      cls = next;
      len = len2;
      j = i + 1;
    }
  }
  if (cls != CharClass::Space) {
    size_t e = j + len;
    while (e < s.size()) {
      size_t l;
      CharClass c = char_class_at(s, e, &l);
      if (c != cls) break;
      e += l;
    }
    return e;
  }
  // "\s+(?!\S)|\s+": a run of whitespace; when a non-space follows a run of two or more,
  // the last whitespace character is left to join the next piece (" word").
  size_t e = i, last = i, count = 0;
  while (e < s.size()) {
    size_t l;
    if (char_class_at(s, e, &l) != CharClass::Space) break;
    last = e;
    e += l;
    ++count;
  }
  if (e < s.size() && count >= 2) return last;
  return e;
}

}  // namespace slm::tokenizer
