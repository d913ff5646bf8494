#!/usr/bin/env bash
# slm serve under load: aggregate tokens/s and request latency (p50, p99) at 1, 8 and 64
# concurrent streaming clients, each asking for greedy completions of MAX_TOKENS tokens
# back to back for SECONDS_PER_LEVEL seconds; then the same clients against llama.cpp
# (npm node-llama-cpp's prebuilt CPU binary, bench/llama_serve.mjs: one context with a
# sequence per client, batched decoding) serving the same GGUF file, and the ratios.
# The goal (issue 15): at 64 clients, 5x the single client's tokens/s on 2 cores for the
# 15M shape. Without a MODEL, a stories15m-shaped model (vocabulary 4096, one training
# step on generated stories: the speed is the shape's, not the text's), exported to GGUF
# f32 and served from that file by both servers.
# Measured figures: docs/serving.md ("Throughput"). On the shared 2-core machine, 2026-12-01
# (load average 11): 1 / 8 / 64 clients 223 / 1102 / 1683 tokens/s (7.6x at 64);
# llama.cpp 151 / 217 / 200; slm / llama.cpp 1.47x / 5.09x / 8.41x.
# Usage: bench/serve_bench.sh [MODEL.gguf|DIR] (env: SECONDS_PER_LEVEL=20 MAX_TOKENS=64 THREADS=1 SLM=build/slm
#        ANCHOR=1: also llama.cpp)
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/wait_for_server.sh"
cd "$(dirname "$0")/.."
SLM=${SLM:-build/slm}
DUR=${SECONDS_PER_LEVEL:-20}
MAX=${MAX_TOKENS:-64}
THREADS=${THREADS:-1}
ANCHOR=${ANCHOR:-1}
T=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  q=(--quiet --threads 2)
  "$SLM" data stories --count 2000 --out "$T/s.txt" "${q[@]}"
  "$SLM" tokenizer train "$T/s.txt" --vocab-size 4096 --out "$T/tok.json" "${q[@]}"
  "$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.05 --out "$T/shards" "${q[@]}" >/dev/null
  "$SLM" pretrain --config stories15m --set model.vocab_size=4096 --set train.batch_size=2 --max-steps 1 \
    --data "$T/shards" --out "$T/run" "${q[@]}" >/dev/null
  "$SLM" export gguf --model "$T/run/model" --type f32 --out "$T/bench.gguf" >/dev/null 2>&1
  MODEL="$T/bench.gguf"
fi

# Waits for a server's line "listening on http://127.0.0.1:PORT" (and, for slm, "ready").
# Up to 5 minutes: node-llama-cpp takes tens of seconds on a busy machine.
wait_port() { wait_for_server "$1" 3000 "$2" || { cat "$1"; exit 1; }; }

# The clients: for each level, N clients send streaming requests back to back until the
# time is up; prints a line per level and writes the tokens/s to $2.
levels() {
  node - "$1" "$DUR" "$MAX" "$2" <<'JS'
const [url, dur, max, out] = process.argv.slice(2).map((v, i) => (i === 0 || i === 3 ? v : Number(v)));
async function client(id, until, lat, counts) {
  for (let k = 0; Date.now() < until; ++k) {
    const t0 = Date.now();
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'bench', prompt: `Once upon a time, ${id} ${k}`, max_tokens: max, temperature: 0,
                             stream: true, stream_options: { include_usage: true } }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const body = await res.text();
    const usage = body.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)))
      .find((c) => c.usage)?.usage;
    counts.tokens += usage.completion_tokens;
    lat.push((Date.now() - t0) / 1000);
  }
}
const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
(async () => {
  let single = 0;
  const rates = [];
  for (const n of [1, 8, 64]) {
    const lat = [], counts = { tokens: 0 };
    const t0 = Date.now(), until = t0 + dur * 1000;
    await Promise.all(Array.from({ length: n }, (_, i) => client(i, until, lat, counts)));
    const tps = counts.tokens / ((Date.now() - t0) / 1000);
    if (n === 1) single = tps;
    rates.push(tps);
    console.log(`  clients ${String(n).padStart(2)}: ${tps.toFixed(0).padStart(5)} tokens/s (${(tps / single).toFixed(1)}x one client)` +
      ` | requests ${lat.length} | latency p50 ${pct(lat, 0.5).toFixed(2)} s, p99 ${pct(lat, 0.99).toFixed(2)} s`);
  }
  require('fs').writeFileSync(out, rates.join(' ') + '\n');
})().catch((e) => { console.error('FAIL:', e.message); process.exit(1); });
JS
}

echo "slm serve, $MODEL, $THREADS threads, $MAX tokens a request, ${DUR}s a level (load average $(cut -d' ' -f1 /proc/loadavg))"
: >"$T/slm.log"  # before the server: its 2> opens the file only once the child runs
"$SLM" serve --model "bench=$MODEL" --port 0 --threads "$THREADS" --parallel 64 --queue 256 2>"$T/slm.log" &
PIDS+=($!)
wait_port "$T/slm.log" "slm serve: ready"
levels "http://127.0.0.1:$PORT" "$T/slm.rates" || { echo "the server's log:"; cat "$T/slm.log"; exit 1; }
kill "${PIDS[-1]}"

if [ "$ANCHOR" = 1 ] && [[ "$MODEL" == *.gguf ]]; then
  if [ -d tests/js/node_modules/@node-llama-cpp/linux-x64 ]; then
    echo "llama.cpp (node-llama-cpp, bench/llama_serve.mjs), the same GGUF, $THREADS threads, 64 sequences"
    : >"$T/llama.log"
    NODE_LLAMA_CPP_SKIP_DOWNLOAD=true node bench/llama_serve.mjs "$MODEL" 64 "$THREADS" >"$T/llama.log" 2>&1 &
    PIDS+=($!)
    wait_port "$T/llama.log" ""
    levels "http://127.0.0.1:$PORT" "$T/llama.rates" || { cat "$T/llama.log"; exit 1; }
    read -r s1 s8 s64 <"$T/slm.rates"
    read -r l1 l8 l64 <"$T/llama.rates"
    awk -v s1="$s1" -v s8="$s8" -v s64="$s64" -v l1="$l1" -v l8="$l8" -v l64="$l64" 'BEGIN {
      printf "slm / llama.cpp tokens/s: 1 client %.2fx, 8 clients %.2fx, 64 clients %.2fx\n", s1 / l1, s8 / l8, s64 / l64 }'
  else
    echo "llama.cpp anchor skipped: node-llama-cpp is not installed under tests/js"
  fi
fi
