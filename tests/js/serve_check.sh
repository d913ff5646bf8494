#!/usr/bin/env bash
# slm serve against the official OpenAI client (npm "openai"): a tiny model trained here in
# seconds (a pre-trained one, and a fine-tuned one for chat's template), one server with
# both models and an API key, and serve_check.js's checks: completions and chat, streaming
# and not, stop strings, errors, and concurrent greedy streams equal to each request alone.
# Usage: serve_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
[ -d "$HERE/node_modules/openai" ] || { echo "FAIL: npm packages missing: (cd tests/js && npm ci)"; exit 1; }
q=(--quiet --threads 2)
"$SLM" data stories --count 300 --out "$T/s.txt" "${q[@]}"
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --out "$T/tok.json" "${q[@]}"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null
"$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=96 \
  --set model.context=256 --set train.batch_size=8 --set train.lr=3e-3 --max-steps 300 --data "$T/shards" --out "$T/pre" "${q[@]}" >/dev/null
"$SLM" data instruct --stories 100 --out "$T/inst" "${q[@]}" >/dev/null
"$SLM" finetune --base "$T/pre/model" --data "$T/inst/train.jsonl" --max-steps 20 --truncate \
  --out "$T/tuned" "${q[@]}" >/dev/null

# Starts slm serve on a free port; sets PORT.
start() {
  local log="$T/serve_$RANDOM.log"
  "$SLM" serve --port 0 --threads 2 "$@" 2>"$log" &
  PIDS+=($!)
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$PORT" ] && return 0
    sleep 0.1
  done
  echo "FAIL: slm serve did not start"; cat "$log"; exit 1
}
start --model "story=$T/pre/model" --model "tuned=$T/tuned/model" --api-key sekrit --parallel 16 --queue 64
MAIN=$PORT
start --model "$T/pre/model" --parallel 1 --queue 1
SMALL=$PORT
node "$HERE/serve_check.js" "http://127.0.0.1:$MAIN/v1" sekrit "http://127.0.0.1:$SMALL/v1"

# The web page in Chromium, its rating in SQLite, and slm feedback export of it.
command -v chromium >/dev/null || { echo "FAIL: Debian's chromium is not installed (scripts/test.sh installs it)"; exit 1; }
start --model "story=$T/pre/model" --model "tuned=$T/tuned/model" --db "$T/ratings.db"
node "$HERE/serve_page_check.js" "http://127.0.0.1:$PORT/" "$T"
[ -s "$T/page.png" ] && [ -s "$T/phone.png" ] || { echo "FAIL: no screenshots"; exit 1; }
"$SLM" feedback export --db "$T/ratings.db" --out "$T/feedback" 2>/dev/null
node -e '
const fs = require("fs");
const sft = fs.readFileSync(process.argv[1] + "/sft.jsonl", "utf8").trim().split("\n").map(JSON.parse);
const prefs = fs.readFileSync(process.argv[1] + "/preferences.jsonl", "utf8").trim().split("\n").map(JSON.parse);
if (sft.length !== 1 || !sft[0].output.endsWith(" The end.") || sft[0].instruction !== "Write a story about a cat and a hat.")
  { console.log("FAIL: sft.jsonl", JSON.stringify(sft)); process.exit(1); }
if (prefs.length !== 1 || prefs[0].chosen !== sft[0].output || prefs[0].chosen === prefs[0].rejected)
  { console.log("FAIL: preferences.jsonl", JSON.stringify(prefs)); process.exit(1); }
console.log("ok: feedback export holds the edited story (sft.jsonl) and the edit over the original (preferences.jsonl)");
' "$T/feedback"
