#!/usr/bin/env bash
# slm serve against the official OpenAI client (npm "openai"): a tiny model trained here in
# seconds (a pre-trained one, and a fine-tuned one for chat's template), one server with
# both models and an API key, and serve_check.js's checks: completions and chat, streaming
# and not, stop strings, logprobs, errors, and concurrent greedy streams equal to each
# request alone; then load with bad requests mixed in (serve_load_check.js), the page in
# Chromium with its ratings and arena picks (serve_page_check.js), slm feedback export and
# stats, ratings that survive kill -9 of the server, and slm eval judge against slm serve.
# Usage: serve_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../scripts/lib/wait_for_server.sh"
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
[ -d "$HERE/node_modules/openai" ] || { echo "FAIL: npm packages missing: (cd tests/js && npm ci)"; exit 1; }
q=(--quiet --threads 1)  # tiny models: a second thread gains little, and on a busy machine costs a lot
"$SLM" data stories --count 300 --out "$T/s.txt" "${q[@]}"
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --out "$T/tok.json" "${q[@]}"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null
"$SLM" pretrain --dtype fp32 --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=96 \
  --set model.context=256 --set train.batch_size=8 --set train.lr=3e-3 --max-steps 300 --data "$T/shards" --out "$T/pre" "${q[@]}" >/dev/null
"$SLM" data instruct --stories 100 --out "$T/inst" "${q[@]}" >/dev/null
"$SLM" finetune --dtype fp32 --base "$T/pre/model" --data "$T/inst/train.jsonl" --max-steps 20 --truncate \
  --out "$T/tuned" "${q[@]}" >/dev/null

# Starts slm serve on a free port and waits until its models are loaded; sets PORT and PID.
start() {
  local log="$T/serve_$RANDOM.log"
  : >"$log"
  "$SLM" serve --port 0 --threads 1 "$@" 2>"$log" &
  PID=$!
  PIDS+=($PID)
  wait_for_server "$log" 300 "slm serve: ready" && return 0
  echo "FAIL: slm serve did not start"; cat "$log"; exit 1
}
start --model "story=$T/pre/model" --model "tuned=$T/tuned/model" --api-key sekrit --parallel 16 --queue 64
MAIN=$PORT
start --model "$T/pre/model" --parallel 1 --queue 1
SMALL=$PORT
node "$HERE/serve_check.js" "http://127.0.0.1:$MAIN/v1" sekrit "http://127.0.0.1:$SMALL/v1"

# Load with bad requests mixed in, on a server of its own (its memory is measured).
start --model "story=$T/pre/model" --parallel 16 --queue 128
node "$HERE/serve_load_check.js" "http://127.0.0.1:$PORT" story "$PID"

# The web page in Chromium, its rating in SQLite, and slm feedback export of it.
command -v chromium >/dev/null || { echo "FAIL: Debian's chromium is not installed (scripts/test.sh installs it)"; exit 1; }
start --model "story=$T/pre/model" --model "tuned=$T/tuned/model" --db "$T/ratings.db"
node "$HERE/serve_page_check.js" "http://127.0.0.1:$PORT/" "$T"
[ -s "$T/page.png" ] && [ -s "$T/arena.png" ] && [ -s "$T/phone.png" ] || { echo "FAIL: no screenshots"; exit 1; }
"$SLM" feedback export --db "$T/ratings.db" --out "$T/feedback" 2>/dev/null
node -e '
const fs = require("fs");
const sft = fs.readFileSync(process.argv[1] + "/sft.jsonl", "utf8").trim().split("\n").map(JSON.parse);
const prefs = fs.readFileSync(process.argv[1] + "/preferences.jsonl", "utf8").trim().split("\n").map(JSON.parse);
if (sft.length !== 1 || !sft[0].output.endsWith(" The end.") || sft[0].instruction !== "Write a story about a cat and a hat.")
  { console.log("FAIL: sft.jsonl", JSON.stringify(sft)); process.exit(1); }
if (prefs.length !== 3 || prefs[0].chosen !== sft[0].output || prefs.some((p) => p.chosen === p.rejected))
  { console.log("FAIL: preferences.jsonl", JSON.stringify(prefs)); process.exit(1); }
console.log("ok: feedback export holds the edited story (sft.jsonl), the edit over the original and the two arena picks (preferences.jsonl)");
' "$T/feedback"

# What the ratings say: the page saved an arena pick between two models and one between two
# samples of one model.
"$SLM" feedback stats --db "$T/ratings.db" --json --bootstrap 50 >"$T/stats.json"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const ok = s.counts.ratings === 1 && s.counts.arena_picks === 2 && s.arena.battles === 1 && s.arena.same_model_picks === 1 &&
  s.arena.models.length === 2 && s.arena.models[0].model === "story" && s.arena.models[0].wins === 1;
if (!ok) { console.log("FAIL: feedback stats", JSON.stringify(s)); process.exit(1); }
console.log("ok: feedback stats counts the ratings and ranks the arena pick (story over tuned)");
' "$T/stats.json"
"$SLM" feedback stats --db "$T/ratings.db" --bootstrap 50 | grep -q "Bradley-Terry" || { echo "FAIL: feedback stats text"; exit 1; }

# Ratings survive kill -9 of the server: a burst of ratings from 8 clients, the server killed
# in the middle, restarted on the same file; every acknowledged rating is there.
start --model "$T/pre/model" --db "$T/burst.db"
ACKED=$(node -e '
const [url, pid] = process.argv.slice(1);
let acked = 0, killed = false;
async function rater(w) {
  for (let i = 0; !killed; ++i) {
    try {
      const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prompt: `burst ${w}`, story: `story ${w}.${i}`, grammar: 4 }) });
      if (res.status === 200) { await res.json(); ++acked; }
    } catch { return; }
    if (acked >= 150 && !killed) { killed = true; process.kill(Number(pid), "SIGKILL"); }
  }
}
Promise.all(Array.from({ length: 8 }, (_, w) => rater(w))).then(() => console.log(acked));
' "http://127.0.0.1:$PORT/api/ratings" "$PID")
{ wait "$PID"; } 2>/dev/null || true  # (bash would report the kill)
start --model "$T/pre/model" --db "$T/burst.db"  # opens the killed server's file (WAL recovery)
kill "$PID"
KEPT=$("$SLM" feedback stats --db "$T/burst.db" --json --bootstrap 0 | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).counts.ratings))')
[ "$KEPT" -ge "$ACKED" ] && [ "$ACKED" -ge 150 ] || { echo "FAIL: $ACKED ratings acknowledged, $KEPT kept after kill -9"; exit 1; }
echo "ok: kill -9 in a burst of ratings: $ACKED acknowledged, $KEPT in the database after a restart"

# slm eval judge against slm serve: a model with a context long enough for the judge's
# prompt serves as the judge of the small one. Untrained to grade, its replies hold no
# grades; the check is the round trip: every story asked, every reply a chat completion.
"$SLM" pretrain --dtype fp32 --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=96 \
  --set model.context=1024 --set train.batch_size=2 --max-steps 5 --data "$T/shards" --out "$T/judge" "${q[@]}" >/dev/null
start --model "judge=$T/judge/model"
"$SLM" eval judge --model "$T/pre/model" --judge-url "http://127.0.0.1:$PORT/v1" --judge-model judge \
  --stories 3 --story-tokens 30 --judge-attempts 1 --out "$T/judged" "${q[@]}" 2>/dev/null
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1] + "/report.json", "utf8"));
const m = r.models ? r.models[0] : r;
const judged = m.stories.samples.filter((s) => s.judge);
const bad = judged.filter((s) => !s.judge.ok && s.judge.error !== "the reply is not in the asked format");
if (judged.length !== 3 || bad.length) { console.log("FAIL: eval judge against slm serve", JSON.stringify(judged)); process.exit(1); }
console.log(`ok: slm eval judge --judge-url slm serve: ${judged.length} stories asked, every reply a chat completion` +
  ` (${judged.filter((s) => s.judge.ok).length} with grades)`);
' "$T/judged"
curl -s "http://127.0.0.1:$PORT/metrics" | grep -q 'slm_requests_total{endpoint="/v1/chat/completions",status="200"} 3' ||
  { echo "FAIL: the judge server did not answer 3 chat completions"; curl -s "http://127.0.0.1:$PORT/metrics"; exit 1; }
# slm feedback stats with the same judge: it grades the page's rated story.
"$SLM" feedback stats --db "$T/ratings.db" --json --bootstrap 0 --quiet --judge-url "http://127.0.0.1:$PORT/v1" \
  --judge-model judge >"$T/judge_stats.json"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
if (!s.judge || s.judge.stories !== 1 || s.judge.model !== "judge") { console.log("FAIL: feedback stats --judge-url", JSON.stringify(s.judge)); process.exit(1); }
console.log(`ok: feedback stats --judge-url: the judge was asked about ${s.judge.stories} rated story (${s.judge.graded} graded)`);
' "$T/judge_stats.json"
