// Inference speed: prompt (prefill) and decode tokens/s for a model shape, fp32 and q8,
// at 1 and 2 threads, and the share of the machine's memory bandwidth decoding uses
// (weight bytes read a token × tokens/s ÷ a measured memcpy bandwidth).
// No anchor installs here from Debian's packages (llama.cpp and llama2.c do not); the
// figures REFERENCE.md gives for them on this machine class are printed beside ours.
// Usage: bench_infer CONFIG_JSON VOCAB [PROMPT_TOKENS DECODE_TOKENS]
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "slm/infer/engine.h"
#include "slm/tensor/blas_setup.h"
#include "slm/util/atomic_file.h"

using Clock = std::chrono::steady_clock;

static double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

int main(int argc, char** argv) {
  slm::tensor::ensure_fast_blas(argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: bench_infer CONFIG_JSON VOCAB [PROMPT_TOKENS DECODE_TOKENS]\n");
    return 2;
  }
  auto cfg = nlohmann::json::parse(slm::read_file(argv[1]));
  auto mc = slm::model::ModelConfig::from_json(cfg["model"], argv[1]);
  mc.vocab_size = std::atoi(argv[2]);
  const int prompt = argc > 3 ? std::atoi(argv[3]) : 128, decode = argc > 4 ? std::atoi(argv[4]) : 64;

  // Memory bandwidth: the best of a few 256 MB copies (bytes read + written).
  const size_t n = size_t(256) << 20;
  std::vector<char> src(n, 1), dst(n, 0);
  double bw = 0;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    std::memcpy(dst.data(), src.data(), n);
    bw = std::max(bw, 2.0 * double(n) / seconds_since(t0));
  }
  src = {}, dst = {};

  slm::model::Transformer<float> m(mc);
  m.init_weights(1);
  const auto& L = m.layout();
  double fp32_bytes = 0;  // the weights a decoded token reads: every matrix once
  for (size_t i = 0; i < L.tensors.size(); ++i)
    if (L.tensors[i].shape.size() == 2 && (int(i) != L.embed || L.lm_head < 0)) fp32_bytes += 4.0 * L.tensors[i].size;
  std::printf("%s: %.1fM parameters, vocab %d; memcpy bandwidth %.1f GB/s\n", argv[1], double(m.num_params()) / 1e6,
              mc.vocab_size, bw / 1e9);
  std::vector<uint32_t> toks(size_t(prompt + decode));
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = uint32_t((i * 7919) % size_t(mc.vocab_size));
  for (int q8 = 0; q8 <= 1; ++q8) {
    slm::infer::Engine e(m, 1, q8 == 1);
    double bytes = fp32_bytes;
    if (q8) {  // q8 reads a quarter of the bytes, plus a scale a block
      bytes = 0;
      for (size_t i = 0; i < L.tensors.size(); ++i)
        if (L.tensors[i].shape.size() == 2 && (int(i) != L.embed || L.lm_head < 0))
          bytes += double(L.tensors[i].size) * (1.0 + 4.0 / 32);
    }
    for (int threads = 1; threads <= 2; ++threads) {
      omp_set_num_threads(threads);
      e.feed(toks.data(), 8, 0);  // warm-up
      auto t0 = Clock::now();
      e.feed(toks.data(), prompt, 0);
      const double prefill = prompt / seconds_since(t0);
      t0 = Clock::now();
      for (int i = 0; i < decode; ++i) e.feed(&toks[size_t(prompt + i)], 1, prompt + i);
      const double dec = decode / seconds_since(t0);
      std::printf("  %-4s %d thread%s  prompt %8.0f tokens/s  decode %7.1f tokens/s  bandwidth used %5.1f%%\n",
                  q8 ? "q8" : "fp32", threads, threads > 1 ? "s" : " ", prefill, dec, 100 * bytes * dec / bw);
    }
  }
}
