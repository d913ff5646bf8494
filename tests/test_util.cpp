#include "test_util.h"

#include "slm/data/pack.h"
#include "slm/stories/story_corpus.h"
#include "slm/data/tokenizer_training.h"

namespace slm::test {

std::string make_story_shards(const TempDir& dir, uint64_t stories, size_t vocab) {
  stories::StoryCorpusOptions so;
  so.out = dir / "stories.txt";
  so.count = stories;
  so.quiet = true;
  stories::write_story_corpus(stories::StoryGenerator(), so);
  tokenizer::TrainOptions to;
  to.vocab_size = vocab;
  to.quiet = true;
  auto tok = data::train_tokenizer({so.out}, to, 2);
  data::PackOptions po;
  po.inputs = {so.out};
  po.out_dir = dir / "shards";
  po.val_fraction = 0.1;
  po.quiet = true;
  data::pack_corpus(tok, po);
  return po.out_dir;
}

}  // namespace slm::test
