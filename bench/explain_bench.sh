#!/usr/bin/env bash
# How long `slm explain trace` takes on llama2.c's stories15M shape (dim 288, 6 layers,
# random weights, a 4096-token BPE trained here on generated stories, as the quickstart's): ROME's defaults (10 noise
# draws, window 10), every layer x position x kind of state, at 1 and 2 threads. Beside it,
# PyTorch running the same forwards on the same schedule (bench/torch_trace.py: each
# restoration resumed from the corrupted run at its layer and position, batched as slm
# batches them; a lower bound for a PyTorch trace), the ratio slm / PyTorch in seconds
# (below 1: slm is faster), in wall seconds and in CPU seconds (user + system; slm's for
# the whole command, model loading and the page included; PyTorch's for the forwards alone). NAIVE=1: PyTorch also times the naive schedule (every window
# run in full from the embeddings, one forward per kind and row).
# Usage: bench/explain_bench.sh   (env WORDS: the prompt's length in words, default 16)
set -euo pipefail
cd "$(dirname "$0")/.."
B=./build/bench/bench_infer SLM=./build/slm VOCAB=4096 SAMPLES=10
[ -x $B ] && [ -x $SLM ] || { echo "build first: cmake --build build --target slm bench_infer"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
$B save configs/stories15m.json $VOCAB "$T/m" >/dev/null
$SLM data stories --count 3000 --seed 1 --quiet --out "$T/s.txt"
$SLM tokenizer train "$T/s.txt" --vocab-size $VOCAB --quiet --out "$T/m/tokenizer.json"
PROMPT="Lily has a red ball and a little dog named Max. One day Lily gave the ball to her friend"
PROMPT=$(echo "$PROMPT" | cut -d' ' -f1-"${WORDS:-16}")
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for th in 1 2; do
  # wall seconds, and CPU seconds (user + system: on a shared machine, what the work costs)
  read -r secs cpu < <(OMP_NUM_THREADS=$th /usr/bin/time -f "%e %U %S" $SLM explain trace -q --threads $th --model "$T/m" \
    --prompt "$PROMPT" --subject Lily --samples $SAMPLES --out "$T/trace$th" 2>&1 >/dev/null | tail -1 | awk '{print $1, $2 + $3}')
  read -r tokens sb se < <(python3 -c "import json; t = json.load(open('$T/trace$th/result.json'))['traces'][0]; print(len(t['tokens']), *t['subject_tokens'])")
  line="slm explain trace: stories15M shape, $tokens tokens, $SAMPLES draws, $th thread(s): $(printf %.2f "$secs") s wall, $(printf %.2f "$cpu") s CPU"
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    out=$(/usr/bin/python3 bench/torch_trace.py configs/stories15m.json $VOCAB "$tokens" $SAMPLES $th "$sb" "$se")
    ref=$(echo "$out" | sed -n 's/.*RESULT seconds=\([0-9.]*\).*/\1/p')
    ref_cpu=$(echo "$out" | sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p')
    line="$line; PyTorch $(/usr/bin/python3 -c "import torch; print(torch.__version__)") same forwards: $ref s wall, $ref_cpu s CPU; slm / PyTorch $(echo "scale=2; $secs / $ref" | bc) wall, $(echo "scale=2; $cpu / $ref_cpu" | bc) CPU"
    naive=$(echo "$out" | sed -n 's/.*naive_seconds=\([0-9.]*\).*/\1/p')
    [ -n "$naive" ] && line="$line; PyTorch naive schedule: $naive s"
  fi
  echo "$line"
done
