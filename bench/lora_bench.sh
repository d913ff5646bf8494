#!/usr/bin/env bash
# LoRA against full fine-tuning, same run, same data and batches: the bytes of weights +
# gradients + AdamW state (slm's run.json), peak resident memory (/usr/bin/time), and
# training tokens/s (median step of metrics.jsonl, best of REPS runs, modes interleaved), on the quickstart's model and on a
# stories15m-shaped base; PyTorch (Debian's python3-torch) doing the same on random tokens
# of the same shapes is the anchor: its LoRA/full ratios beside slm's.
# Usage: bench/lora_bench.sh [STEPS]; env RUNS (the quickstart's folder, runs/quickstart),
#        THREADS (1), RANK (8), BIG_BATCH (8), REPS (2)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-20}
RUNS=${RUNS:-runs/quickstart} THREADS=${THREADS:-1} RANK=${RANK:-8} BIG_BATCH=${BIG_BATCH:-8} REPS=${REPS:-2}
SLM=./build/slm
[ -d "$RUNS/pretrain/model" ] && [ -f "$RUNS/sft/train.jsonl" ] || { echo "run scripts/quickstart.sh first (no $RUNS)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive
have_torch=1
/usr/bin/python3 -c "import torch" 2>/dev/null || have_torch=0

# A stories15m-shaped base on the quickstart's tokenizer (one pre-training step: the
# speed and memory of fine-tuning do not depend on how well it was trained).
"$SLM" pretrain --config stories15m --data "$RUNS/shards" --out "$T/big" --max-steps 1 --set train.batch_size=1 \
  --set train.grad_accum=1 --set train.eval_every=0 --threads "$THREADS" --quiet >/dev/null

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
field() { sed -n "s/^RESULT.* $1=\([0-9.e+-]*\).*/\1/p" | head -1; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $THREADS thread(s); $STEPS steps of fine-tuning; LoRA r=$RANK alpha=$((2 * RANK)) on q,k,v,o,gate,up,down"
for spec in "quickstart:$RUNS/pretrain/model:8" "stories15m:$T/big/model:$BIG_BATCH"; do
  IFS=: read -r shape base batch <<<"$spec"
  declare -A tps=() state=() rss=()
  for ((rep = 0; rep < REPS; ++rep)); do
    for mode in full lora; do
      extra=(); [ $mode = lora ] && extra=(--lora "$RANK" --lora-targets all)
      # --truncate: records longer than the stories15m shape's context of 256 are cut, not skipped.
      /usr/bin/time -f "%M" -o "$T/rss" "$SLM" finetune --base "$base" --data "$RUNS/sft/train.jsonl" \
        --out "$T/$shape-$mode" --max-steps "$STEPS" --set train.batch_size="$batch" --set train.eval_every=0 \
        --set train.checkpoint_every=0 --set train.warmup_steps=1 --truncate --threads "$THREADS" --quiet \
        "${extra[@]}" >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }
      run_tps=$(tail -n +2 "$T/$shape-$mode/metrics.jsonl" | sed -n 's/.*"tokens_per_s":\([0-9.e+-]*\).*/\1/p' | median)
      tps[$mode]=$(best "${tps[$mode]:-0}" "$run_tps")
      state[$mode]=$(sed -n 's/.*"total": *\([0-9]*\).*/\1/p' "$T/$shape-$mode/run.json" | head -1 | awk '{ printf "%.1f", $1 / 1e6 }')
      rss[$mode]=$(awk '{ printf "%.0f", $1 / 1024 }' "$T/rss")
      rm -rf "${T:?}/$shape-$mode"
      if [ $have_torch = 1 ]; then
        cfg="$T/$shape.json"
        python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/config.json")); print(json.dumps({"model": {"dim": m["hidden_size"], "n_layers": m["num_hidden_layers"], "n_heads": m["num_attention_heads"], "n_kv_heads": m["num_key_value_heads"], "hidden_dim": m["intermediate_size"], "context": 128}}))' "$base" >"$cfg"
        out=$(/usr/bin/python3 bench/torch_lora.py "$cfg" 4096 "$batch" 5 "$THREADS" $mode "$RANK" 2>/dev/null)
        tps[torch_$mode]=$(best "${tps[torch_$mode]:-0}" "$(echo "$out" | field tokens_per_s)")
        state[torch_$mode]=$(echo "$out" | field state_mb) rss[torch_$mode]=$(echo "$out" | field peak_mb)
      fi
    done
  done
  echo
  echo "== $shape (batch $batch)     weights+grads+AdamW MB   peak RSS MB   tokens/s"
  for k in full lora torch_full torch_lora; do
    [ -n "${tps[$k]:-}" ] || continue
    printf '  %-12s %18s %13s %10.0f\n' "$k" "${state[$k]}" "${rss[$k]}" "${tps[$k]}"
  done
  echo "  LoRA / full: slm state $(ratio "${state[lora]}" "${state[full]}")x, RSS $(ratio "${rss[lora]}" "${rss[full]}")x, speed $(ratio "${tps[lora]}" "${tps[full]}")x"
  [ $have_torch = 1 ] && echo "  LoRA / full: PyTorch state $(ratio "${state[torch_lora]}" "${state[torch_full]}")x, RSS $(ratio "${rss[torch_lora]}" "${rss[torch_full]}")x, speed $(ratio "${tps[torch_lora]}" "${tps[torch_full]}")x (random tokens, context 128)"
  unset tps state rss
done
