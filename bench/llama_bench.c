// llama.cpp's side of bench/infer_bench.sh without Node in the loop: a small C program on
// the same prebuilt libllama that npm's node-llama-cpp ships (@node-llama-cpp/linux-x64),
// built against that release's own headers (from the llama.cpp source bundle node-llama-cpp
// carries). It loads the GGUF slm exported, times a PROMPT-token prompt in one batch and
// DECODE greedy tokens one llama_decode at a time, on the same token ids as bench_infer,
// best of three, and prints one RESULT line in bench_infer's format.
//
// Why not only the Node script: node-llama-cpp returns every decoded token to JavaScript
// through the event loop; with two threads on two cores the main Node thread then competes
// with ggml's spinning worker for a core at each token, and decoding measured 4x slower
// at two threads than at one. That is the binding, not llama.cpp's kernels.
//
// Usage: llama_bench BINS_DIR MODEL.gguf THREADS PROMPT DECODE VOCAB [KV]
//   BINS_DIR: the folder with libggml-cpu-*.so (the CPU variant is chosen at run time).
//   KV: the KV cache's type, f32 (default: as slm's fp32 engine) or f16 (llama.cpp's own
//   default; the same bytes as the bf16 cache of slm's q8 engine).
//   BENCH_CLOCK=cpu times by process CPU time, as bench_infer.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "ggml-backend.h"
#include "llama.h"

static double now_ms(void) {
  static int cpu = -1;
  if (cpu < 0) cpu = getenv("BENCH_CLOCK") && strcmp(getenv("BENCH_CLOCK"), "cpu") == 0;
  struct timespec t;
  clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void quiet(enum ggml_log_level level, const char* text, void* user) {
  (void)user;
  if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

static bool no_dots(float progress, void* user) {  // llama.cpp prints loading dots otherwise
  (void)progress, (void)user;
  return true;
}

static int argmax(const float* x, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: llama_bench BINS_DIR MODEL.gguf THREADS PROMPT DECODE VOCAB [f32|f16]\n");
    return 2;
  }
  const char* kv = argc == 8 ? argv[7] : "f32";
  if (strcmp(kv, "f32") != 0 && strcmp(kv, "f16") != 0) {
    fprintf(stderr, "llama_bench: KV cache type '%s': expected f32 or f16\n", kv);
    return 2;
  }
  const int threads = atoi(argv[3]), n_prompt = atoi(argv[4]), n_decode = atoi(argv[5]), vocab = atoi(argv[6]);
  llama_log_set(quiet, NULL);
  ggml_backend_load_all_from_path(argv[1]);
  llama_backend_init();
  struct llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  mp.progress_callback = no_dots;
  struct llama_model* model = llama_model_load_from_file(argv[2], mp);
  if (!model) {
    fprintf(stderr, "llama_bench: cannot load %s\n", argv[2]);
    return 1;
  }
  struct llama_context_params cp = llama_context_default_params();
  cp.n_ctx = (uint32_t)(n_prompt + n_decode);
  cp.n_batch = cp.n_ubatch = (uint32_t)n_prompt;
  cp.n_seq_max = 1;
  cp.n_threads = cp.n_threads_batch = threads;
  cp.type_k = cp.type_v = strcmp(kv, "f16") == 0 ? GGML_TYPE_F16 : GGML_TYPE_F32;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.no_perf = true;
  struct llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) {
    fprintf(stderr, "llama_bench: cannot make a context\n");
    return 1;
  }
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  llama_token* prompt = malloc(sizeof(llama_token) * (size_t)n_prompt);
  for (int i = 0; i < n_prompt; ++i) prompt[i] = (llama_token)((i * 7919 + 11) % (vocab - 1));  // as bench_infer

  double best_prompt = 1e30, best_decode = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    llama_memory_clear(llama_get_memory(ctx), true);
    double t0 = now_ms();
    if (llama_decode(ctx, llama_batch_get_one(prompt, n_prompt - 1))) return fprintf(stderr, "llama_decode failed\n"), 1;
    const double tp = now_ms() - t0;
    if (tp < best_prompt) best_prompt = tp;
    // The prompt's last token, then greedy steps: DECODE passes in all (as the Node script).
    t0 = now_ms();
    llama_token tok = prompt[n_prompt - 1];
    for (int i = 0; i < n_decode; ++i) {
      if (llama_decode(ctx, llama_batch_get_one(&tok, 1))) return fprintf(stderr, "llama_decode failed\n"), 1;
      tok = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
    }
    const double td = now_ms() - t0;
    if (td < best_decode) best_decode = td;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("RESULT prompt_tps=%.1f decode_tps=%.1f peak_mb=%.0f\n", (n_prompt - 1) / best_prompt * 1e3,
         n_decode / best_decode * 1e3, ru.ru_maxrss / 1024.0);
  free(prompt);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
