#include "slm/util/text.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "slm/util/error.h"

namespace slm {

size_t utf8_invalid_at(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return i;
    if (i + len > n) return i;
    for (int k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

std::string nfc(std::string_view s) {
  // Pure ASCII is already NFC: skip the library call for the common case.
  bool ascii = true;
  for (unsigned char c : s) ascii &= c < 0x80;
  if (ascii) return std::string(s);
  utf8proc_uint8_t* out = nullptr;
  auto len = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), utf8proc_ssize_t(s.size()), &out,
                          utf8proc_option_t(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (len < 0) throw Error(std::string("NFC normalisation failed: ") + utf8proc_errmsg(len));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> guard(out, &std::free);
  return std::string(reinterpret_cast<char*>(out), size_t(len));
}

namespace {
// Length of a Unicode horizontal space at s[i] (no-break space, en/em spaces, ideographic
// space ...), or 0.
size_t unicode_space_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return i + k < s.size() ? uint8_t(s[i + k]) : 0; };
  if (b(0) == 0xC2 && b(1) == 0xA0) return 2;                                  // U+00A0
  if (b(0) == 0xE2 && b(1) == 0x80 && b(2) >= 0x80 && b(2) <= 0x8A) return 3;  // U+2000..200A
  if (b(0) == 0xE2 && b(1) == 0x80 && b(2) == 0xAF) return 3;                  // U+202F
  if (b(0) == 0xE3 && b(1) == 0x80 && b(2) == 0x80) return 3;                  // U+3000
  return 0;
}
}  // namespace

std::string clean_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  int newlines = 0;      // line breaks pending since the last visible character
  bool space = false;    // a space pending since the last visible character
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') continue;
      c = '\n';
    }
    if (c == '\n') {
      ++newlines;
      space = false;
      continue;
    }
    if (size_t k = unicode_space_len(s, i)) {
      i += k - 1;
      space = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\v' || c == '\f') {
      space = true;
      continue;
    }
    if (uint8_t(c) < 0x20 || c == 0x7F) continue;  // other control characters
    if (!out.empty()) {
      if (newlines) out.append(newlines >= 2 ? "\n\n" : "\n");
      else if (space) out.push_back(' ');
    }
    newlines = 0;
    space = false;
    out.push_back(c);
  }
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (uint8_t(c) < 0x20) {
          out += "\\u00";
          out.push_back(hex[uint8_t(c) >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace slm
