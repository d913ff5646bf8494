#pragma once
// GPT-2's byte-to-unicode table: byte-level BPE vocabularies (tokenizer.json, GGUF) store
// each token's bytes as printable characters, byte b as the code point bytes_to_unicode(b)
// (printable Latin-1 bytes map to themselves; the others, space included, to U+0100 and
// up, which is why a leading space shows as "Ġ").
#include <string>
#include <string_view>

namespace slm::tokenizer {

// The printable form of raw token bytes, as UTF-8.
std::string bytes_to_printable(std::string_view bytes);
// The raw bytes of a printable token; false when a character is not in the table.
bool printable_to_bytes(std::string_view printable, std::string& bytes);

}  // namespace slm::tokenizer
