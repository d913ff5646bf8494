#!/usr/bin/env bash
# Inference speed for the stories15m, stories42m and 124M shapes (vocabulary 32000, as
# llama2.c's models), fp32 and q8, 1 and 2 threads. Reference figures for llama2.c and
# llama.cpp on this machine class (REFERENCE.md; neither installs from Debian here):
#   llama2.c run.c, 15M decode: 290 (1 thread) / 500 (2 threads) tokens/s; 110M: 25 / 46
#   llama.cpp 2 threads, 15M: prompt 6,560, decode 520 (f32), 984 (Q8_0); 110M: 810, 46, 87-121
set -euo pipefail
cd "$(dirname "$0")/.."
for shape in stories15m stories42m gpt2-124m-shape; do
  ./build/bench/bench_infer "configs/$shape.json" 32000 128 64
done
