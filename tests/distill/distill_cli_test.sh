#!/usr/bin/env bash
# slm distill, slm distill generate and slm data self-instruct end to end with the real
# binary: a teacher pre-trained here, students from it (on the fly, from a top-k cache),
# the refusals (another tokenizer, reverse KL from a cache, a missing flag), and teacher
# endpoints served by the real slm serve on 127.0.0.1.
# Usage: distill_cli_test.sh PATH/TO/slm SEED_TASKS
set -u
SLM=$1
SEEDS=$2
source "$(dirname "$0")/../../scripts/lib/wait_for_server.sh"
T=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
die() { echo "FAIL: $*"; exit 1; }
# expect CODE WHAT -- COMMAND...: runs it, checks the exit code; stdout in $T/out, stderr in $T/err.
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, expected $code"; head -5 "$T/err"; fi
}
has() { if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1:"; head -5 "$1"; fi; }

q=(--quiet --threads 1)
"$SLM" data stories --count 300 --out "$T/s.txt" "${q[@]}" || die "data stories"
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --out "$T/tok.json" "${q[@]}" || die "tokenizer train"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null || die "data pack"
"$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=128 \
  --set model.context=512 --set train.batch_size=2 --set train.eval_every=10 --max-steps 40 \
  --data "$T/shards" --out "$T/teacher" "${q[@]}" >/dev/null || die "pretrain the teacher"
student=(--student tiny --set model.dim=32 --set model.hidden_dim=64 --set model.n_layers=2 --set model.context=128
  --set train.batch_size=4 --set train.eval_every=5 --max-steps 10)

# --- logit distillation, on the fly and from a cache
expect 0 "distill on the fly" -- "$SLM" distill --teacher "$T/teacher/model" "${student[@]}" --data "$T/shards" --out "$T/kd" "${q[@]}"
has "$T/out" "$T/kd/model"
[ -s "$T/kd/model/model.safetensors" ] && [ -s "$T/kd/loss.svg" ] && ok || bad "no model or loss curve in $T/kd"
grep -q '"val_loss"' "$T/kd/metrics.jsonl" && ok || bad "no validation loss in metrics.jsonl"
expect 0 "distill from a top-k cache" -- "$SLM" distill --teacher "$T/teacher/model" "${student[@]}" --data "$T/shards" --out "$T/kdc" --cache-topk 8 --temperature 1.5 --alpha 0.3 "${q[@]}"
[ -s "$T/kdc/teacher_topk/meta.json" ] && ok || bad "no top-k cache in $T/kdc/teacher_topk"
grep -q '"temperature": 1.5' "$T/kdc/run.json" && ok || bad "run.json does not record the temperature"
expect 0 "distill, reverse KL" -- "$SLM" distill --teacher "$T/teacher/model" "${student[@]}" --data "$T/shards" --out "$T/kdr" --divergence reverse "${q[@]}"
expect 0 "distill --help" -- "$SLM" distill --help
has "$T/out" "Examples:"

# --- refusals: exit 1 with one line naming the problem, nothing left behind; 2 for the command line
"$SLM" tokenizer train "$T/s.txt" --vocab-size 300 --out "$T/tok2.json" "${q[@]}" || die "second tokenizer"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok2.json" --out "$T/shards2" "${q[@]}" >/dev/null || die "second pack"
expect 1 "a teacher of another tokenizer" -- "$SLM" distill --teacher "$T/teacher/model" "${student[@]}" --data "$T/shards2" --out "$T/bad1" "${q[@]}"
has "$T/err" "slm: error: the teacher's tokenizer is not the data's"
[ ! -e "$T/bad1" ] && ok || bad "a refused distill left $T/bad1 behind"
expect 1 "reverse KL from a cache" -- "$SLM" distill --teacher "$T/teacher/model" "${student[@]}" --data "$T/shards" --out "$T/bad2" --cache-topk 4 --divergence reverse "${q[@]}"
has "$T/err" "reverse KL needs the teacher's whole distribution"
[ ! -e "$T/bad2" ] && ok || bad "a refused distill left $T/bad2 behind"
expect 2 "no --student" -- "$SLM" distill --teacher "$T/teacher/model" --data "$T/shards" --out "$T/bad3"
has "$T/err" "--student"
expect 2 "alpha out of range" -- "$SLM" distill --teacher "$T/teacher/model" "${student[@]}" --data "$T/shards" --out "$T/bad4" --alpha 1.5
[ "$(wc -l <"$T/err")" -eq 1 ] && ok || bad "a command-line error is not one line"

# --- sequence-level: a local teacher, then the same teacher behind slm serve
expect 0 "distill generate, local teacher" -- "$SLM" distill generate --teacher "$T/teacher/model" --count 4 --max-tokens 40 --out "$T/gen_local.jsonl" "${q[@]}"
[ "$(wc -l <"$T/gen_local.jsonl")" -eq 4 ] && ok || bad "local teacher: expected 4 stories"
: >"$T/serve.log"  # before the server: its 2> opens the file only once the child runs
"$SLM" serve --model "teacher=$T/teacher/model" --port 0 --threads 1 2>"$T/serve.log" &
PIDS+=($!)
wait_for_server "$T/serve.log" 300 "slm serve: ready" || die "slm serve did not start: $(cat "$T/serve.log")"
URL="http://127.0.0.1:$PORT/v1"
expect 0 "distill generate from slm serve" -- "$SLM" distill generate --teacher-url "$URL" --teacher-model teacher --count 5 --max-tokens 40 --concurrency 2 --cache "$T/cache.jsonl" --out "$T/gen.jsonl" "${q[@]}"
n=$(wc -l <"$T/gen.jsonl")
[ "$n" -ge 1 ] && ok || bad "no stories from the endpoint"
expect 0 "the teacher's stories import" -- "$SLM" data import "$T/gen.jsonl" --out "$T/imported" "${q[@]}"
expect 0 "a rerun answers from the cache" -- "$SLM" distill generate --teacher-url "$URL" --teacher-model teacher --count 5 --max-tokens 40 --cache "$T/cache.jsonl" --out "$T/gen2.jsonl"
has "$T/err" "from the cache"
cmp -s "$T/gen.jsonl" "$T/gen2.jsonl" && ok || bad "the cached rerun wrote other records"
expect 2 "--teacher-url without --teacher-model" -- "$SLM" distill generate --teacher-url "$URL" --count 1 --out "$T/x.jsonl"
expect 1 "an unknown model name" -- "$SLM" distill generate --teacher-url "$URL" --teacher-model nope --count 1 --retries 1 --out "$T/x.jsonl" "${q[@]}"
[ ! -e "$T/x.jsonl" ] && ok || bad "a failed generate wrote its output"
# Self-instruct against the real server: a 40-step story model cannot write numbered task
# lists, so nothing parses; the command says so, exits 1 and writes nothing.
expect 1 "self-instruct from a teacher that cannot" -- "$SLM" data self-instruct --teacher-url "$URL" --teacher-model teacher --seed-tasks "$SEEDS" --count 2 --max-rounds 1 --max-tokens 30 --out "$T/si.json" "${q[@]}"
has "$T/err" "no usable task"
[ ! -e "$T/si.json" ] && ok || bad "a failed self-instruct wrote its output"
expect 0 "data self-instruct --help" -- "$SLM" data self-instruct --help
has "$T/out" "ROUGE-L"

echo "distill_cli_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
