#!/usr/bin/env bash
# Ctrl-C (SIGINT) and SIGTERM stop training with a checkpoint and exit 0, and --resume goes
# on exactly: a fine-tuning run interrupted and resumed ends with the same weights, bit for
# bit, as one that ran straight through. The signal is sent once the run has written its
# first metrics line (a fixed point in its life), not after a guessed sleep.
# Usage: signal_test.sh PATH/TO/slm
source "$(dirname "$0")/../lib/checks.sh"
SLM=$1

# wait_for_line FILE SECONDS: blocks until FILE has a complete first line (or gives up).
wait_for_line() { timeout "$2" tail -F -s 0.1 -n +1 "$1" 2>/dev/null | head -n 1 | grep -q .; }

# One thread: the same arithmetic in every run, so a resumed run can match bit for bit.
q=(--quiet --threads 1)
"$SLM" data stories --count 300 --out "$TMP/s.txt" "${q[@]}" || die "data stories"
"$SLM" tokenizer train "$TMP/s.txt" --vocab-size 400 --out "$TMP/tok.json" "${q[@]}" || die "tokenizer train"
"$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --out "$TMP/shards" "${q[@]}" >/dev/null 2>&1 || die "data pack"
small=(--set model.dim=32 --set model.n_layers=2 --set model.n_heads=2 --set model.n_kv_heads=1
  --set model.hidden_dim=64 --set model.context=128 --set train.batch_size=2 --set train.eval_every=0
  --set train.checkpoint_every=100000 --set train.warmup_steps=2)

# interrupt SIGNAL RUN_DIR COMMAND...: starts the command, sends the signal after the first
# metrics line, and checks the run stopped cleanly: exit 0, a checkpoint, its step printed.
interrupt() {
  local sig=$1 dir=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err_$sig" &
  local pid=$!
  wait_for_line "$dir/metrics.jsonl" 120 || { kill -KILL $pid; die "$sig: no metrics line within 120 s"; }
  kill -"$sig" $pid
  wait $pid && ok || bad "$sig: exit $?, expected 0"
  grep -q "checkpoint saved" "$TMP/err_$sig" && ok || bad "$sig: 'checkpoint saved' not printed: $(head -3 "$TMP/err_$sig")"
  grep -q "(signal)" "$TMP/err_$sig" && ok || bad "$sig: the stop is not put down to the signal"
  ls "$dir/checkpoints" 2>/dev/null | grep -q step_ && ok || bad "$sig: no checkpoint in $dir/checkpoints"
}

# --- pretrain: SIGINT and SIGTERM each stop with a checkpoint; --resume finishes the run
for sig in INT TERM; do
  run="$TMP/pre_$sig"
  interrupt $sig "$run" "$SLM" pretrain --data "$TMP/shards" --out "$run" "${small[@]}" --max-steps 100000 "${q[@]}"
  stopped=$(ls "$run/checkpoints" | tail -1 | sed 's/step_0*//')
  "$SLM" pretrain --data "$TMP/shards" --out "$run" "${small[@]}" --max-steps $((stopped + 3)) --resume "$run" \
    "${q[@]}" >/dev/null 2>"$TMP/err" && [ -s "$run/model/model.safetensors" ] && ok || bad "$sig: the resumed pretrain run: $(cat "$TMP/err")"
done

# --- finetune: interrupted by SIGTERM, resumed with the same settings, ends exactly where an
# uninterrupted run does (weights and every step's loss)
"$SLM" pretrain --data "$TMP/shards" --out "$TMP/base" "${small[@]}" --max-steps 5 "${q[@]}" >/dev/null || die "base model"
# Short records that fit the small model's context.
for i in $(seq 1 40); do
  printf '{"instruction": "Count to %s.", "input": "", "output": "%s"}\n' $i "$(seq -s ' ' 1 $((i % 9 + 1)))"
done >"$TMP/sft.jsonl"
steps=300
ft=(--base "$TMP/base/model" --data "$TMP/sft.jsonl" --max-steps $steps --set train.batch_size=16
  --set train.eval_every=0 --set train.checkpoint_every=100000 --set train.warmup_steps=2 "${q[@]}")
losses() { node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n"))
  if (l.trim()) { const r = JSON.parse(l); if ("loss" in r) console.log(r.step, r.loss); }' "$1"; }
# stop_and_resume NAME SIGNAL WEIGHTS [FLAG...]: a run of "${cmd[@]}" (finetune, unless
# set otherwise) straight through and one stopped by SIGNAL then resumed end with the same
# WEIGHTS file (and losses), bit for bit.
cmd=(finetune "${ft[@]}")
stop_and_resume() {
  local name=$1 sig=$2 weights=$3
  shift 3
  "$SLM" "${cmd[@]}" --out "$TMP/${name}_straight" "$@" >/dev/null 2>"$TMP/err" || die "$name straight through: $(cat "$TMP/err")"
  interrupt "$sig" "$TMP/${name}_cut" "$SLM" "${cmd[@]}" --out "$TMP/${name}_cut" "$@"
  stopped=$(ls "$TMP/${name}_cut/checkpoints" | tail -1 | sed 's/step_0*//')
  [ -n "$stopped" ] && [ "$stopped" -lt $steps ] && ok || bad "$name finished ($stopped steps) before the signal: nothing was resumed"
  "$SLM" "${cmd[@]}" --out "$TMP/${name}_cut" "$@" --resume "$TMP/${name}_cut" >/dev/null 2>"$TMP/err" && ok \
    || bad "$name --resume: $(cat "$TMP/err")"
  cmp -s "$TMP/${name}_straight/model/$weights" "$TMP/${name}_cut/model/$weights" && ok \
    || bad "$name stopped at step $stopped and resumed ends with other weights than a run straight through"
  if command -v node >/dev/null; then
    cmp -s <(losses "$TMP/${name}_straight/metrics.jsonl") <(losses "$TMP/${name}_cut/metrics.jsonl") && ok \
      || bad "the resumed $name run's losses differ from the straight run's"
  fi
}
stop_and_resume finetune TERM model.safetensors
# LoRA: the checkpoint holds the adapters and their AdamW moments; Ctrl-C stops it the same way.
stop_and_resume lora INT adapter_model.safetensors --lora 4 --lora-targets q,v,down --set train.lr=0.003
# With dropout: the masks are drawn from the step, so the resumed run draws the same ones.
stop_and_resume lora_dropout INT adapter_model.safetensors --lora 4 --lora-targets q,v,down --lora-dropout 0.1 \
  --set train.lr=0.003
# DPO with LoRA (the base as the reference): Ctrl-C and resume as for fine-tuning.
for i in $(seq 1 20); do
  printf '{"prompt": "Count to %s.", "chosen": "%s", "rejected": "no"}\n' $i "$(seq -s ' ' 1 $((i % 9 + 1)))"
done >"$TMP/prefs.jsonl"
cmd=(align dpo --base "$TMP/base/model" --data "$TMP/prefs.jsonl" --max-steps $steps --set train.batch_size=4
  --set train.eval_every=0 --set train.checkpoint_every=100000 --set train.warmup_steps=2 --eval-stories 0 "${q[@]}")
stop_and_resume dpo_lora INT adapter_model.safetensors --lora 4 --lora-dropout 0.1 --set train.lr=0.003

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
