// Hugging Face tokenizer.json for byte-level BPE: what we write and what we accept.
#include <nlohmann/json.hpp>

#include "slm/tokenizer/bpe.h"
#include "slm/tokenizer/byte_level.h"
#include "slm/util/atomic_file.h"
#include "slm/util/error.h"

namespace slm::tokenizer {

using nlohmann::json;

namespace {

const json& field(const json& obj, const char* name, const std::string& origin, const std::string& path) {
  if (!obj.is_object() || !obj.contains(name))
    throw Error("missing field '" + path + "'", origin);
  return obj.at(name);
}

[[noreturn]] void bad(const std::string& what, const std::string& origin, const std::string& path) {
  throw Error(path + ": " + what, origin);
}

// An optional string or bool field: absent (or null) gives the fallback, another type
// is an error naming the field, never a JSON type error.
std::string opt_string(const json& obj, const char* name, const std::string& fallback, const std::string& origin,
                       const std::string& path) {
  if (!obj.contains(name) || obj[name].is_null()) return fallback;
  if (!obj[name].is_string()) bad("must be a string", origin, path);
  return obj[name].get<std::string>();
}

bool opt_bool(const json& obj, const char* name, bool fallback, const std::string& origin, const std::string& path) {
  if (!obj.contains(name) || obj[name].is_null()) return fallback;
  if (!obj[name].is_boolean()) bad("must be true or false", origin, path);
  return obj[name].get<bool>();
}

// The ByteLevel pre-tokenizer with GPT-2's split is what we implement; anything else
// would encode differently, so it is refused rather than silently approximated.
void check_pre_tokenizer(const json& root, const std::string& origin) {
  if (!root.contains("pre_tokenizer") || root["pre_tokenizer"].is_null())
    bad("is null; expected a ByteLevel pre-tokenizer (byte-level BPE)", origin, "pre_tokenizer");
  const json& pt = root["pre_tokenizer"];
  if (!pt.is_object()) bad("must be an object", origin, "pre_tokenizer");
  std::string type = opt_string(pt, "type", "", origin, "pre_tokenizer.type");
  if (type != "ByteLevel")
    bad("type is '" + type + "'; only ByteLevel (GPT-2 style byte-level BPE) is supported", origin, "pre_tokenizer.type");
  if (!opt_bool(pt, "use_regex", true, origin, "pre_tokenizer.use_regex"))
    bad("use_regex is false; the GPT-2 split is required", origin, "pre_tokenizer.use_regex");
  if (opt_bool(pt, "add_prefix_space", false, origin, "pre_tokenizer.add_prefix_space"))
    bad("add_prefix_space is true; not supported", origin, "pre_tokenizer.add_prefix_space");
  if (root.contains("normalizer") && !root["normalizer"].is_null())
    bad("a normalizer is set; not supported for byte-level BPE", origin, "normalizer");
}

void check_model(const json& model, const std::string& origin) {
  if (!model.is_object()) bad("must be an object", origin, "model");
  const std::string type = opt_string(model, "type", "BPE", origin, "model.type");
  if (type != "BPE") bad("is '" + type + "'; only BPE is supported", origin, "model.type");
  if (opt_bool(model, "byte_fallback", false, origin, "model.byte_fallback")) bad("is true; not supported", origin, "model.byte_fallback");
  for (const char* f : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (!opt_string(model, f, "", origin, std::string("model.") + f).empty())
      bad("is set; not supported", origin, std::string("model.") + f);
}

// Token ids must be contiguous from 0, so none can exceed the number of entries: a
// larger one is refused before the token table is sized by it.
void check_id(uint64_t id, size_t entries, const std::string& what, const std::string& origin, const std::string& path) {
  if (id >= entries)
    bad(what + " is id " + std::to_string(id) + ", but there are only " + std::to_string(entries) +
            " tokens (ids must be contiguous from 0)",
        origin, path);
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view text, const std::string& origin) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers such as 1e999
    throw Error(std::string("malformed JSON: ") + e.what(), origin);
  }
  if (!root.is_object()) throw Error("expected a JSON object", origin);
  const json& model = field(root, "model", origin, "model");
  check_model(model, origin);
  check_pre_tokenizer(root, origin);

  // Vocabulary: printable token -> id.
  const json& vocab = field(model, "vocab", origin, "model.vocab");
  if (!vocab.is_object()) bad("is not an object", origin, "model.vocab");
  const json* added_json = root.contains("added_tokens") && !root["added_tokens"].is_null() ? &root["added_tokens"] : nullptr;
  if (added_json && !added_json->is_array()) bad("is not a list", origin, "added_tokens");
  const size_t entries = vocab.size() + (added_json ? added_json->size() : 0);
  std::vector<std::string> tokens;
  std::vector<bool> have;
  std::unordered_map<std::string, uint32_t> id_of;
  std::string bytes;
  for (const auto& [tok, idj] : vocab.items()) {
    if (!idj.is_number_unsigned()) bad("id of '" + tok + "' is not a non-negative integer", origin, "model.vocab");
    uint64_t id = idj.get<uint64_t>();
    check_id(id, entries, "'" + tok + "'", origin, "model.vocab");
    if (!printable_to_bytes(tok, bytes)) bad("token '" + tok + "' is not in byte-level form", origin, "model.vocab");
    if (id >= tokens.size()) tokens.resize(id + 1), have.resize(id + 1);
    if (have[id]) bad("id " + std::to_string(id) + " is used twice", origin, "model.vocab");
    tokens[id] = bytes;
    have[id] = true;
    id_of[tok] = uint32_t(id);
  }

  // Special (added) tokens.
  std::vector<std::pair<std::string, uint32_t>> specials;
  if (added_json) {
    const json& added = *added_json;
    for (size_t i = 0; i < added.size(); ++i) {
      std::string where = "added_tokens[" + std::to_string(i) + "]";
      const json& a = added[i];
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content") ||
          !a["content"].is_string())
        bad("needs an 'id' (integer) and a 'content' (string)", origin, where);
      std::string content = a["content"];
      if (content.empty()) bad("content is empty", origin, where);
      uint64_t id = a["id"].get<uint64_t>();
      check_id(id, entries, "'" + content + "'", origin, where);
      if (id >= tokens.size()) tokens.resize(id + 1), have.resize(id + 1);
      tokens[id] = content;
      have[id] = true;
      specials.emplace_back(content, uint32_t(id));
    }
  }
  for (size_t id = 0; id < have.size(); ++id)
    if (!have[id]) bad("no token has id " + std::to_string(id) + " (ids must be contiguous)", origin, "model.vocab");

  // Merges: "left right" strings (the classic form) or ["left", "right"] pairs.
  std::vector<Merge> merges;
  if (model.contains("merges")) {
    const json& mj = model["merges"];
    if (!mj.is_array()) bad("is not a list", origin, "model.merges");
    merges.reserve(mj.size());
    for (size_t i = 0; i < mj.size(); ++i) {
      std::string where = "model.merges[" + std::to_string(i) + "]";
      std::string l, r;
      if (mj[i].is_string()) {
        std::string m = mj[i];
        size_t sp = m.find(' ');
        if (sp == std::string::npos || m.find(' ', sp + 1) != std::string::npos) bad("expected 'LEFT RIGHT'", origin, where);
        l = m.substr(0, sp), r = m.substr(sp + 1);
      } else if (mj[i].is_array() && mj[i].size() == 2 && mj[i][0].is_string() && mj[i][1].is_string()) {
        l = mj[i][0], r = mj[i][1];
      } else {
        bad("expected 'LEFT RIGHT' or [LEFT, RIGHT]", origin, where);
      }
      auto li = id_of.find(l), ri = id_of.find(r);
      if (li == id_of.end() || ri == id_of.end()) bad("names a token that is not in model.vocab", origin, where);
      if (!id_of.count(l + r)) bad("makes '" + l + r + "', which is not in model.vocab", origin, where);
      merges.push_back({li->second, ri->second});
    }
  }
  try {
    return Tokenizer(std::move(tokens), std::move(merges), std::move(specials));
  } catch (const Error& e) {
    throw Error(e.what(), origin);
  }
}

Tokenizer Tokenizer::load(const std::string& path) { return from_json(read_file(path), path); }

std::string Tokenizer::to_json() const {
  json added = json::array();
  for (const auto& [content, id] : specials_)
    added.push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  json vocab = json::object();
  for (uint32_t id = 0; id < tokens_.size(); ++id)
    vocab[is_special(id) ? tokens_[id] : bytes_to_printable(tokens_[id])] = id;
  json merges = json::array();
  for (const auto& m : merges_) merges.push_back(bytes_to_printable(tokens_[m.left]) + " " + bytes_to_printable(tokens_[m.right]));
  json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  json root = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", merges}}},
  };
  return root.dump(1) + "\n";
}

void Tokenizer::save(const std::string& path) const { write_file_atomic(path, to_json()); }

}  // namespace slm::tokenizer
