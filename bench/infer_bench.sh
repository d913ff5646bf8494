#!/usr/bin/env bash
# Inference speed, slm beside llama.cpp in the same run on the same weights: random
# weights of llama2.c's stories15M and stories110M shapes (vocabulary 32000) saved as an
# slm model folder, exported to GGUF (f32 and q8_0) with `slm export gguf`; slm's engine
# (bench_infer, fp32 and q8) and llama.cpp (npm node-llama-cpp's prebuilt CPU library,
# driven by bench/llama_bench.c, built by bench/build_llama_bench.sh; LLAMA_DRIVER=node uses
# the Node binding instead, bench/llama_cpp_bench.mjs, whose per-token trip through
# JavaScript costs it most of its two-thread decode speed on 2 cores) each time a PROMPT-token prompt and DECODE greedy tokens at
# 1 and 2 threads, interleaved, REPS times; the best of each is kept. Prints tokens/s,
# the ratio slm / llama.cpp, peak resident memory (with LLAMA_DRIVER=node, llama.cpp's includes Node's ~50 MB),
# and for slm's decoding the share of the measured read bandwidth it uses (weight bytes a
# token reads × tokens/s ÷ bench_infer bandwidth's STREAM-like read, bench/read_bandwidth.h;
# q8 decoding does more arithmetic a byte, so its share is lower by nature), and for the
# prompt the share of the fp32 sgemm peak (q8 prompts multiply in bf16: over 100% is possible).
# Reference (not installable here), llama2.c run.c -Ofast -fopenmp -march=native on this
# machine class, decode tokens/s at 1 / 2 threads: 15M 443 / 730; 110M 66 / 73.
# Usage: bench/infer_bench.sh [SHAPES] (default "stories15m stories110m"); env PROMPT, DECODE, REPS,
# BENCH_CLOCK=cpu (time by process CPU time: for a busy shared machine; see bench_infer.cpp)
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPES=${1:-stories15m stories110m}
PROMPT=${PROMPT:-128} DECODE=${DECODE:-128} REPS=${REPS:-2} VOCAB=32000
B=./build/bench/bench_infer SLM=./build/slm
[ -x $B ] && [ -x $SLM ] || { echo "build first: cmake --build build --target slm bench_infer"; exit 1; }
[ -d tests/js/node_modules/node-llama-cpp ] || { echo "npm packages missing: (cd tests/js && npm install --no-save)"; exit 1; }
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
LLAMA_BINS=tests/js/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
if [ "${LLAMA_DRIVER:-c}" = node ]; then
  llama_run() { node --no-warnings bench/llama_cpp_bench.mjs "$@"; }
else
  LLB=$(bench/build_llama_bench.sh)
  llama_run() { $LLB $LLAMA_BINS "$@"; }
fi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

declare -A BW GF
for th in 1 2; do
  out=$(OMP_NUM_THREADS=$th $B bandwidth $th)
  BW[$th]=$(echo "$out" | field read_gbs) GF[$th]=$(echo "$out" | field gemm_gflops)
done
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; read bandwidth ${BW[1]} / ${BW[2]} GB/s," \
  "sgemm ${GF[1]} / ${GF[2]} GFLOP/s (1 / 2 threads)"
echo "prompt $PROMPT tokens, decode $DECODE tokens, best of $REPS interleaved runs; tokens/s (peak MB); clock: ${BENCH_CLOCK:-wall}; llama.cpp driver: ${LLAMA_DRIVER:-c}"
for shape in $SHAPES; do
  cfg=configs/$shape.json; [ -f "$cfg" ] || cfg=bench/$shape.json
  $B save "$cfg" $VOCAB "$T/$shape" >/dev/null
  $SLM export gguf --model "$T/$shape" --type f32 --out "$T/$shape-f32.gguf" >/dev/null
  $SLM export gguf --model "$T/$shape" --type q8_0 --out "$T/$shape-q8_0.gguf" >/dev/null
  echo
  echo "== $shape"
  printf '%-6s %-3s | %-22s %-22s %-7s | %-22s %-22s %-7s | %s\n' "" thr "slm prompt" "llama.cpp prompt" ratio \
    "slm decode" "llama.cpp decode" ratio "slm: prompt share of sgemm peak, decode share of read bandwidth"
  for dtype in fp32 q8; do
    # The KV cache as slm's: fp32 beside fp32 weights; 16 bits beside q8 (slm bf16, llama.cpp f16).
    gguf="$T/$shape-f32.gguf" kv=f32; [ $dtype = q8 ] && gguf="$T/$shape-q8_0.gguf" kv=f16
    for th in 1 2; do
      sp=() sd=() lp=() ld=() sm=0 lm=0 share=0 gshare=0
      for ((r = 0; r < REPS; ++r)); do
        out=$(OMP_NUM_THREADS=$th $B run "$T/$shape" $dtype $th $PROMPT $DECODE "${BW[$th]}" "${GF[$th]}")
        sp+=("$(echo "$out" | field prompt_tps)") sd+=("$(echo "$out" | field decode_tps)")
        sm=$(best $sm "$(echo "$out" | field peak_mb)") share=$(best $share "$(echo "$out" | field bandwidth_share)")
        gshare=$(best $gshare "$(echo "$out" | field gemm_share)")
        out=$(llama_run "$gguf" $th $PROMPT $DECODE $VOCAB $kv)
        lp+=("$(echo "$out" | field prompt_tps)") ld+=("$(echo "$out" | field decode_tps)")
        lm=$(best $lm "$(echo "$out" | field peak_mb)")
      done
      p1=$(best "${sp[@]}") p2=$(best "${lp[@]}") d1=$(best "${sd[@]}") d2=$(best "${ld[@]}")
      printf '%-6s %-3s | %-22s %-22s %-7s | %-22s %-22s %-7s | %s\n' $dtype $th "$p1 ($sm MB)" "$p2 ($lm MB)" \
        "$(ratio "$p1" "$p2")x" "$d1" "$d2" "$(ratio "$d1" "$d2")x" "$(awk -v g="$gshare" -v s="$share" 'BEGIN { printf "%.0f%%, %.0f%%", 100 * g, 100 * s }')"
    done
  done
done
