#include "slm/tokenizer/byte_level.h"

#include <array>

namespace slm::tokenizer {

namespace {

struct Table {
  std::array<uint32_t, 256> to_cp{};       // byte -> code point
  std::array<int, 512> from_cp{};          // code point -> byte, or -1
  Table() {
    from_cp.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? uint32_t(b) : uint32_t(256 + n++);
      from_cp[to_cp[b]] = b;
    }
  }
};
const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

std::string bytes_to_printable(std::string_view bytes) {
  const auto& t = table();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    uint32_t cp = t.to_cp[b];
    if (cp < 0x80) {
      out.push_back(char(cp));
    } else {  // all table code points are below U+0800: two UTF-8 bytes
      out.push_back(char(0xC0 | (cp >> 6)));
      out.push_back(char(0x80 | (cp & 0x3F)));
    }
  }
  return out;
}

bool printable_to_bytes(std::string_view s, std::string& bytes) {
  const auto& t = table();
  bytes.clear();
  for (size_t i = 0; i < s.size();) {
    unsigned char c = (unsigned char)s[i];
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size()) {
      cp = ((c & 0x1Fu) << 6) | ((unsigned char)s[i + 1] & 0x3Fu);
      i += 2;
    } else {
      return false;
    }
    if (cp >= t.from_cp.size() || t.from_cp[cp] < 0) return false;
    bytes.push_back(char(t.from_cp[cp]));
  }
  return true;
}

}  // namespace slm::tokenizer
