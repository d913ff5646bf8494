#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "slm/data/pack.h"
#include "slm/data/shard.h"
#include "slm/stories/story_corpus.h"
#include "slm/data/tokenizer_training.h"
#include "slm/util/error.h"
#include "test_util.h"

using namespace slm;
using namespace slm::data;
using namespace slm::stories;

namespace {

struct Packed {
  test::TempDir dir;
  std::unique_ptr<tokenizer::Tokenizer> tok;
  PackStats stats;
};

std::unique_ptr<Packed> make(int threads, uint64_t shard_tokens, double val_fraction = 0.1) {
  auto p = std::make_unique<Packed>();
  StoryCorpusOptions so;
  so.out = p->dir / "stories.txt";
  so.count = 300;
  so.quiet = true;
  write_story_corpus(StoryGenerator(), so);
  tokenizer::TrainOptions to;
  to.vocab_size = 600;
  to.quiet = true;
  p->tok = std::make_unique<tokenizer::Tokenizer>(train_tokenizer({so.out}, to, threads));
  PackOptions po;
  po.inputs = {so.out};
  po.out_dir = p->dir / "shards";
  po.shard_tokens = shard_tokens;
  po.val_fraction = val_fraction;
  po.threads = threads;
  po.quiet = true;
  p->stats = pack_corpus(*p->tok, po);
  return p;
}

std::vector<uint32_t> all_tokens(const std::vector<std::string>& shards) {
  std::vector<uint32_t> out;
  for (const auto& s : shards) {
    TokenShard sh(s);
    for (size_t i = 0; i < sh.size(); ++i) out.push_back(sh[i]);
  }
  return out;
}

}  // namespace

TEST(Pack, EveryDocumentEndsWithEndOfTextAndDecodesBack) {
  auto p = make(2, 1'000'000, 0.0);
  auto shards = list_shards(p->dir / "shards", "train");
  ASSERT_EQ(shards.size(), 1u);
  auto toks = all_tokens(shards);
  EXPECT_EQ(toks.size(), p->stats.train_tokens);
  EXPECT_EQ(size_t(std::count(toks.begin(), toks.end(), p->tok->eot())), 300u);
  EXPECT_EQ(toks.back(), p->tok->eot());
  // Decoding the shard gives the corpus back, stories separated as in the text file.
  std::string text = p->tok->decode(toks);
  std::string original = test::slurp(p->dir / "stories.txt");
  std::string expected;
  for (size_t start = 0, at; (at = original.find("\n<|endoftext|>\n", start)) != std::string::npos; start = at + 15)
    expected += original.substr(start, at - start) + "\n<|endoftext|>";
  EXPECT_EQ(text, expected);
}

TEST(Pack, RollsShardsAndSplitsValidationByHash) {
  auto p = make(2, 5000, 0.1);
  auto train = list_shards(p->dir / "shards", "train");
  auto val = list_shards(p->dir / "shards", "val");
  EXPECT_GT(train.size(), 3u);
  ASSERT_GE(val.size(), 1u);
  for (size_t i = 0; i + 1 < train.size(); ++i) EXPECT_EQ(TokenShard(train[i]).size(), 5000u);
  EXPECT_GT(p->stats.val_docs, 10u);
  EXPECT_LT(p->stats.val_docs, 60u);
  EXPECT_EQ(p->stats.train_docs + p->stats.val_docs, 300u);
  auto meta = nlohmann::json::parse(test::slurp(p->dir / "shards/meta.json"));
  EXPECT_EQ(meta["vocab_size"], 600);
  EXPECT_EQ(meta["train"]["tokens"], p->stats.train_tokens);
  EXPECT_TRUE(std::filesystem::exists(p->dir / "shards/tokenizer.json"));
}

TEST(Pack, OutputDoesNotDependOnThreads) {
  auto a = make(1, 4000), b = make(2, 4000);
  auto ta = all_tokens(list_shards(a->dir / "shards", "train"));
  auto tb = all_tokens(list_shards(b->dir / "shards", "train"));
  EXPECT_EQ(ta, tb);
}

TEST(Pack, AFailedPackLeavesTheOldOutputAlone) {
  auto p = make(1, 1'000'000);
  test::spit(p->dir / "bad.jsonl", "{\"text\": \"fine\"}\n{broken\n");
  PackOptions po;
  po.inputs = {p->dir / "bad.jsonl"};
  po.out_dir = p->dir / "shards";
  po.quiet = true;
  EXPECT_THROW(pack_corpus(*p->tok, po), Error);
  EXPECT_EQ(list_shards(p->dir / "shards", "train").size(), 1u);
  for (const auto& e : std::filesystem::directory_iterator(p->dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << "leftover " << e.path();
}
