#!/usr/bin/env bash
# Alignment with LoRA against full-weight alignment, same run, same data: DPO and GRPO on
# the quickstart's instruction-tuned model (read only), step time (median step_s of
# metrics.jsonl, the first step left out), peak resident memory (/usr/bin/time) and the
# bytes slm counts for weights + gradients + AdamW state + the reference (run.json's
# memory_bytes: full-weight runs keep a second copy of the model as the reference; LoRA's
# reference is the base without its adapters). PyTorch does not run DPO or GRPO without
# TRL (not installed), so there is no anchor here; bench/lora_bench.sh has the LoRA-vs-full
# anchor for the fine-tuning step both share.
# Usage: bench/align_lora_bench.sh [DPO_STEPS] [GRPO_STEPS]; env RUNS (runs/quickstart),
#        MODEL ($RUNS/finetune/model), THREADS (1), RANK (8), DROPOUT (0.05)
set -euo pipefail
cd "$(dirname "$0")/.."
DPO_STEPS=${1:-12} GRPO_STEPS=${2:-4}
RUNS=${RUNS:-runs/quickstart} THREADS=${THREADS:-1} RANK=${RANK:-8} DROPOUT=${DROPOUT:-0.05}
MODEL=${MODEL:-$RUNS/finetune/model}
SLM=./build/slm
[ -f "$MODEL/config.json" ] && [ -f "$RUNS/sft/train.jsonl" ] || { echo "run scripts/quickstart.sh first (no $MODEL)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export OMP_WAIT_POLICY=passive

# Preference pairs from the SFT records: a record's own response over the next record's
# (the 64 shortest records, so that the pairs fit a context of 256 tokens).
python3 - "$RUNS/sft/train.jsonl" "$T/prefs.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
recs = sorted(recs, key=lambda r: len(r["instruction"]) + len(r.get("input", "")) + len(r["output"]))[:64]
with open(sys.argv[2], "w") as out:
    for i, r in enumerate(recs):
        other = recs[(i + 1) % len(recs)]["output"]
        if other != r["output"]:
            out.write(json.dumps({"prompt": r["instruction"], "input": r.get("input", ""), "chosen": r["output"], "rejected": other}) + "\n")
PY

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mem() { python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["memory_bytes"]; print("%.1f %.1f" % (m["total"] / 1e6, m["reference"] / 1e6))' "$1"; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $THREADS thread(s), load $(cut -d' ' -f1 /proc/loadavg)"
echo "model: $MODEL ($(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print("dim %d, %d layers" % (c["hidden_size"], c["num_hidden_layers"]))' "$MODEL/config.json"))"
echo "LoRA r=$RANK alpha=$((2 * RANK)) dropout=$DROPOUT on q,k,v,o,gate,up,down"
common=(--base "$MODEL" --eval-stories 0 --set train.eval_every=0 --set train.checkpoint_every=0
        --set train.warmup_steps=1 --threads "$THREADS" --quiet)
for algo in dpo grpo; do
  declare -A step=() rss=() state=() ref=()
  for mode in full lora; do
    extra=(); [ $mode = lora ] && extra=(--lora "$RANK" --lora-targets all --lora-dropout "$DROPOUT")
    if [ $algo = dpo ]; then
      args=(align dpo --data "$T/prefs.jsonl" --max-steps "$DPO_STEPS" --set train.batch_size=4)
    else
      args=(align grpo --prompts "$RUNS/sft/train.jsonl" --max-steps "$GRPO_STEPS" --set train.batch_size=2
            --group 4 --max-tokens 48 --sample-every 0)
    fi
    /usr/bin/time -f "%M" -o "$T/rss" "$SLM" "${args[@]}" "${common[@]}" --out "$T/$algo-$mode" "${extra[@]}" \
      >/dev/null 2>"$T/err" || { cat "$T/err"; exit 1; }
    step[$mode]=$(tail -n +2 "$T/$algo-$mode/metrics.jsonl" | sed -n 's/.*"step_s":\([0-9.e+-]*\).*/\1/p' | median)
    read -r state[$mode] ref[$mode] < <(mem "$T/$algo-$mode/run.json")
    rss[$mode]=$(awk '{ printf "%.0f", $1 / 1024 }' "$T/rss")
    rm -rf "${T:?}/$algo-$mode"
  done
  echo
  echo "== $algo    step s (median)   peak RSS MB   weights+grads+AdamW+reference MB   of which reference MB"
  for k in full lora; do
    printf '  %-6s %14.3f %13s %34s %22s\n' "$k" "${step[$k]}" "${rss[$k]}" "${state[$k]}" "${ref[$k]}"
  done
  echo "  LoRA / full: step time $(ratio "${step[lora]}" "${step[full]}")x, peak RSS $(ratio "${rss[lora]}" "${rss[full]}")x, state $(ratio "${state[lora]}" "${state[full]}")x"
  unset step rss state ref
done
