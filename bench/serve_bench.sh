#!/usr/bin/env bash
# slm serve under load: aggregate tokens/s and request latency (p50, p99) at 1, 8 and 64
# concurrent streaming clients, each asking for greedy completions of MAX_TOKENS tokens for
# SECONDS seconds. The goal (issue 15): at 64 clients, 5x the single client's tokens/s on
# 2 cores for the 15M shape. Without a MODEL, a stories15m-shaped model (vocabulary 4096,
# one training step on generated stories: the speed is the shape's, not the text's).
# llama.cpp's server (node-llama-cpp) is not run beside it here: it is not installed.
# Measured 2026-12-01 on the shared 2-core build box (load average 6-7 from other builds),
# 15M shape, vocabulary 4096, 64 tokens a request:
#   THREADS=1: 1 client 648 tokens/s (p50 0.09 s) | 8: 1349 (p50 0.38 s) | 64: 2106 (3.3x; p50 1.85 s, p99 3.01 s)
#   THREADS=2: 5 | 38 | 61 tokens/s: with the cores taken by other processes, each OpenMP
#   barrier waits for a descheduled thread; on a busy machine serve with --threads 1.
# Usage: bench/serve_bench.sh [MODEL] (env: SECONDS_PER_LEVEL=20 MAX_TOKENS=64 THREADS=2 SLM=build/slm)
set -euo pipefail
cd "$(dirname "$0")/.."
SLM=${SLM:-build/slm}
DUR=${SECONDS_PER_LEVEL:-20}
MAX=${MAX_TOKENS:-64}
THREADS=${THREADS:-2}
T=$(mktemp -d)
PID=
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$T"' EXIT
MODEL=${1:-}
if [ -z "$MODEL" ]; then
  q=(--quiet --threads "$THREADS")
  "$SLM" data stories --count 2000 --out "$T/s.txt" "${q[@]}"
  "$SLM" tokenizer train "$T/s.txt" --vocab-size 4096 --out "$T/tok.json" "${q[@]}"
  "$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.05 --out "$T/shards" "${q[@]}" >/dev/null
  "$SLM" pretrain --config stories15m --set model.vocab_size=4096 --set train.batch_size=2 --max-steps 1 \
    --data "$T/shards" --out "$T/run" "${q[@]}" >/dev/null
  MODEL="$T/run/model"
fi
"$SLM" serve --model "bench=$MODEL" --port 0 --threads "$THREADS" --parallel 64 --queue 256 2>"$T/log" &
PID=$!
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/log")
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "${PORT:-}" ] || { cat "$T/log"; exit 1; }
echo "slm serve, $MODEL, $THREADS threads, $MAX tokens a request, ${DUR}s a level"
node - "http://127.0.0.1:$PORT" "$DUR" "$MAX" <<'JS' || { echo "the server's log:"; cat "$T/log"; exit 1; }
const [url, dur, max] = process.argv.slice(2).map((v, i) => (i ? Number(v) : v));
// One client: streaming requests back to back until the time is up.
async function client(id, until, lat, counts) {
  for (let k = 0; Date.now() < until; ++k) {
    const t0 = Date.now();
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: `Once upon a time, ${id} ${k}`, max_tokens: max, temperature: 0, stream: true,
                             stream_options: { include_usage: true } }),
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    const body = await res.text();
    const usage = body.split('\n').filter((l) => l.startsWith('data: {')).map((l) => JSON.parse(l.slice(6)))
      .find((c) => c.usage)?.usage;
    counts.tokens += usage.completion_tokens;
    lat.push((Date.now() - t0) / 1000);
  }
}
const pct = (a, p) => a.sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];
(async () => {
  let single = 0;
  for (const n of [1, 8, 64]) {
    const lat = [], counts = { tokens: 0 };
    const t0 = Date.now(), until = t0 + dur * 1000;
    await Promise.all(Array.from({ length: n }, (_, i) => client(i, until, lat, counts)));
    const tps = counts.tokens / ((Date.now() - t0) / 1000);
    if (n === 1) single = tps;
    console.log(`clients ${String(n).padStart(2)}: ${tps.toFixed(0).padStart(5)} tokens/s (${(tps / single).toFixed(1)}x one client)` +
      ` | requests ${lat.length} | latency p50 ${pct(lat, 0.5).toFixed(2)} s, p99 ${pct(lat, 0.99).toFixed(2)} s`);
  }
})().catch((e) => { console.error('FAIL:', e.message); process.exit(1); });
JS
