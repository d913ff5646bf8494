// Encoding throughput of a tokenizer.json on a text file, one thread, text already in
// memory: the figure to compare with tiktoken's (bench/tokenizer_bench.sh runs both).
// Usage: bench_encode TOKENIZER_JSON TEXT_FILE [REPEATS]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "slm/tokenizer/bpe.h"
#include "slm/util/atomic_file.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_encode TOKENIZER_JSON TEXT_FILE [REPEATS]\n");
    return 2;
  }
  auto tok = slm::tokenizer::Tokenizer::load(argv[1]);
  std::string text = slm::read_file(argv[2]);
  int repeats = argc > 3 ? std::atoi(argv[3]) : 3;
  std::vector<uint32_t> ids;
  ids.reserve(text.size() / 2);
  double best = 1e30, first = 0;
  for (int r = 0; r < repeats; ++r) {  // the first run fills the piece cache
    ids.clear();
    auto t0 = std::chrono::steady_clock::now();
    tok.encode(text, ids, false);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r == 0) first = s;
    best = std::min(best, s);
  }
  const double mb = double(text.size()) / 1e6;
  std::printf("slm encode: %.1f MB: %.1f MB/s first pass (empty cache), %.1f MB/s best of %d; %zu tokens, "
              "%.3f bytes/token (1 thread)\n",
              mb, mb / first, mb / best, repeats, ids.size(), double(text.size()) / double(ids.size()));
}
