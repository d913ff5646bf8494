// Inference speed of slm's engine on a model folder: prompt (prefill) and decode tokens/s,
// fp32 or q8, at a thread count, with the peak resident memory and the share of the
// memory bandwidth decoding uses (weight bytes a token reads × tokens/s ÷ the measured
// read bandwidth). bench/infer_bench.sh runs it beside llama.cpp on the same weights.
// Usage:
//   bench_infer save CONFIG_JSON VOCAB DIR    random weights (seed 1) + a byte-pair vocabulary, as a model folder
//   bench_infer bandwidth THREADS             the read bandwidth (GB/s: bench/read_bandwidth.h), and
//                                             the sgemm peak (GFLOP/s, best 1024³) at THREADS
//   bench_infer run DIR fp32|q8 THREADS PROMPT DECODE [BANDWIDTH_GBS [GEMM_GFLOPS]]
#include <omp.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "slm/infer/engine.h"
#include "slm/model/model_files.h"
#include "slm/tensor/blas_setup.h"
#include "slm/tensor/gemm.h"
#include "slm/util/atomic_file.h"
#include "read_bandwidth.h"

using Clock = std::chrono::steady_clock;

// The clock the figures use: wall time, or with BENCH_CLOCK=cpu the process's CPU time
// (all threads), which a busy shared machine disturbs far less (at one thread the two agree
// on a quiet machine; at two, CPU time also counts threads waiting at barriers).
static double now_s() {
  static const bool cpu = std::getenv("BENCH_CLOCK") && std::string(std::getenv("BENCH_CLOCK")) == "cpu";
  if (!cpu) return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// A vocabulary of `vocab` tokens: the 256 bytes, merges of byte pairs, <|endoftext|> last.
// Its only use is to give the GGUF export a tokenizer of the right size.
static slm::tokenizer::Tokenizer byte_pair_vocabulary(int vocab) {
  std::vector<std::string> tokens;
  std::vector<slm::tokenizer::Tokenizer::Merge> merges;
  for (int b = 0; b < 256; ++b) tokens.push_back(std::string(1, char(b)));
  for (int a = 0; a < 256 && int(tokens.size()) < vocab - 1; ++a)
    for (int b = 0; b < 256 && int(tokens.size()) < vocab - 1; ++b) {
      merges.push_back({uint32_t(a), uint32_t(b)});
      tokens.push_back(tokens[size_t(a)] + tokens[size_t(b)]);
    }
  tokens.push_back(std::string(slm::tokenizer::kEndOfText));
  return slm::tokenizer::Tokenizer(tokens, merges, {{std::string(slm::tokenizer::kEndOfText), uint32_t(vocab - 1)}});
}

static int save(const char* config, int vocab, const std::string& dir) {
  auto cfg = nlohmann::json::parse(slm::read_file(config));
  auto mc = slm::model::ModelConfig::from_json(cfg["model"], config);
  mc.vocab_size = vocab;
  slm::model::Transformer<float> m(mc);
  m.init_weights(1);
  std::filesystem::create_directories(dir);
  slm::model::save_model_files(dir, m);
  byte_pair_vocabulary(vocab).save(dir + "/tokenizer.json");
  std::printf("saved %s: %.1fM parameters, vocab %d\n", dir.c_str(), double(m.num_params()) / 1e6, vocab);
  return 0;
}

static int bandwidth(int threads) {
  const double read_gbs = bench::read_bandwidth_gbs(threads, now_s);
  omp_set_num_threads(threads);
  // The GEMM peak at this thread count: the best of a few 1024³ sgemms.
  double peak = 0;
  const int g = 1024;
  std::vector<float> ga(size_t(g) * g, 0.5f), gb(size_t(g) * g, 0.25f), gc(size_t(g) * g);
  for (int r = 0; r < 3; ++r) {
    const double t0 = now_s();
    slm::tensor::gemm(false, false, g, g, g, 1.f, ga.data(), g, gb.data(), g, 0.f, gc.data(), g);
    peak = std::max(peak, 2.0 * g * g * g / (now_s() - t0));
  }
  std::printf("RESULT read_gbs=%.2f gemm_gflops=%.1f (%d threads)\n", read_gbs, peak / 1e9, threads);
  return 0;
}

static int run(const std::string& dir, bool q8, int threads, int prompt, int decode, double bw_gbs, double gemm_gflops) {
  auto m = slm::model::load_model(dir);
  const auto& mc = m->config();
  omp_set_num_threads(threads);
  slm::infer::Engine e(*m, 1, q8);
  const auto& L = m->layout();
  double bytes = 0;  // the weights a decoded token reads: every matrix once (the embedding only a row)
  for (size_t i = 0; i < L.tensors.size(); ++i)
    if (L.tensors[i].shape.size() == 2 && (int(i) != L.embed || L.lm_head < 0))
      bytes += double(L.tensors[i].size) * (q8 ? 1.0 + 4.0 / 32 : 4.0);
  // The share of the GEMM peak a prompt reaches: 2 flops a weight of every layer matrix a
  // token (the head runs for the last row only), plus attention's 4·dim·position.
  double layer_weights = 0;
  for (size_t i = 0; i < L.tensors.size(); ++i)
    if (L.tensors[i].shape.size() == 2 && int(i) != L.embed && int(i) != L.output_head()) layer_weights += double(L.tensors[i].size);
  const double prompt_flops = 2.0 * layer_weights * prompt + 4.0 * mc.dim * mc.n_layers * (prompt * (prompt + 1) / 2.0) +
                              2.0 * double(mc.vocab_size) * mc.dim;
  std::vector<uint32_t> toks(static_cast<size_t>(prompt));
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = uint32_t((i * 7919 + 11) % size_t(mc.vocab_size - 1));
  double best_prompt = 1e30, best_decode = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    double t0 = now_s();
    const float* logits = e.feed(toks.data(), prompt, 0);
    best_prompt = std::min(best_prompt, now_s() - t0);
    // Greedy decoding from the prompt, as llama.cpp's side does.
    t0 = now_s();
    for (int i = 0; i < decode; ++i) {
      const uint32_t next = uint32_t(std::max_element(logits, logits + mc.vocab_size) - logits);
      logits = e.feed(&next, 1, prompt + i);
    }
    best_decode = std::min(best_decode, now_s() - t0);
  }
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  const double dec = decode / best_decode;
  std::printf("RESULT prompt_tps=%.1f decode_tps=%.1f peak_mb=%.0f bandwidth_share=%.3f gemm_share=%.3f\n",
              prompt / best_prompt, dec, double(ru.ru_maxrss) / 1024, bw_gbs > 0 ? bytes * dec / (bw_gbs * 1e9) : 0.0,
              gemm_gflops > 0 ? prompt_flops / best_prompt / (gemm_gflops * 1e9) : 0.0);
  return 0;
}

int main(int argc, char** argv) {
  slm::tensor::ensure_fast_blas(argv);
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "save" && argc == 5) return save(argv[2], std::atoi(argv[3]), argv[4]);
    if (cmd == "bandwidth" && argc == 3) return bandwidth(std::atoi(argv[2]));
    if (cmd == "run" && argc >= 7)
      return run(argv[2], std::string(argv[3]) == "q8", std::atoi(argv[4]), std::atoi(argv[5]), std::atoi(argv[6]),
                 argc > 7 ? std::atof(argv[7]) : 0.0, argc > 8 ? std::atof(argv[8]) : 0.0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_infer: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: bench_infer save CONFIG_JSON VOCAB DIR | bandwidth THREADS |\n"
               "       run DIR fp32|q8 THREADS PROMPT DECODE [BANDWIDTH_GBS [GEMM_GFLOPS]]\n");
  return 2;
}
