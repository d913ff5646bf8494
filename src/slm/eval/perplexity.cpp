#include "slm/eval/perplexity.h"

#include <cmath>
#include <filesystem>

#include "slm/data/corpus_text.h"
#include "slm/data/pack.h"
#include "slm/data/shard.h"
#include "slm/util/error.h"

namespace slm::eval {

namespace fs = std::filesystem;

namespace {

std::vector<uint32_t> shard_tokens(const std::string& path, int64_t max_tokens) {
  std::vector<std::string> paths;
  if (fs::is_directory(path)) {
    paths = data::list_shards(path, "val");
    if (paths.empty()) throw Error("no val_*.bin shards in the folder", path);
  } else {
    paths = {path};
  }
  std::vector<uint32_t> out;
  for (const auto& p : paths) {
    data::TokenShard s(p);
    for (size_t i = 0; i < s.size() && int64_t(out.size()) < max_tokens; ++i) out.push_back(s[i]);
  }
  return out;
}

}  // namespace

Perplexity eval_perplexity(model::Transformer<float>& m, const tokenizer::Tokenizer& tok, const std::string& path,
                           int64_t max_tokens) {
  std::vector<uint32_t> ids;
  int64_t bytes = -1;
  const bool shards = fs::is_directory(path) || fs::path(path).extension() == ".bin";
  if (shards) {
    ids = shard_tokens(path, max_tokens);
  } else {
    bytes = 0;
    data::for_each_document({path}, [&](std::string&& text) {
      if (int64_t(ids.size()) >= max_tokens) return;
      tok.encode(text, ids, false);
      ids.push_back(tok.eot());
      bytes += int64_t(text.size());
    });
  }
  const int T = m.config().context;
  if (ids.size() < 2) throw Error("fewer than two tokens to evaluate", path);
  for (uint32_t id : ids)
    if (int64_t(id) >= m.config().vocab_size)
      throw Error("token " + std::to_string(id) + " is outside the model's vocabulary: data of another tokenizer", path);
  Perplexity p;
  double total = 0;
  std::vector<int32_t> x, y;
  for (size_t s = 0; s + 1 < ids.size(); s += size_t(T)) {
    const size_t n = std::min(size_t(T), ids.size() - 1 - s);
    x.assign(ids.begin() + long(s), ids.begin() + long(s + n));
    y.assign(ids.begin() + long(s + 1), ids.begin() + long(s + n + 1));
    total += m.loss(x.data(), y.data(), 1, int(n)) * double(n);
    p.tokens += int64_t(n);
  }
  p.loss = total / double(p.tokens);
  p.perplexity = std::exp(p.loss);
  if (bytes > 0) p.bits_per_byte = total / std::log(2.0) / double(bytes);
  return p;
}

}  // namespace slm::eval
