#!/usr/bin/env bash
# Issue 17, the transfer-set regime (Hinton et al. 2015, section 3: a model given 3% of
# the speech data overfits on hard targets and nearly matches the full-data baseline on
# the teacher's soft targets). The teacher is the quickstart's pre-trained model (all of
# its ~4.9M training tokens); two students of about half its size see only the first
# DOCS stories of that training data (the transfer set), for the same steps: one from
# scratch on the labels, one distilled from the teacher on the fly. All three are scored
# on the same validation shard (the quickstart's, every token) with `slm eval loss`;
# prints the share of the teacher's gain over the scratch student that the distilled one
# recovers, and draws the students' validation curves (OUT/compare.svg).
# Usage: bench/distill_transfer.sh RUN OUT [DOCS] [STEPS]   (RUN: a finished quickstart, runs/quickstart)
set -euo pipefail
SLM=${SLM:-$(dirname "$0")/../build/slm}
RUN=$1 OUT=$2 DOCS=${3:-460} STEPS=${4:-1000}
q=(--quiet --threads "${THREADS:-2}")
for f in "$RUN/pretrain/model" "$RUN/data/train.jsonl" "$RUN/data/val.jsonl" "$RUN/tokenizer.json"; do
  [ -e "$f" ] || { echo "missing $f: run ./scripts/quickstart.sh first" >&2; exit 1; }
done
mkdir -p "$OUT"
head -n "$DOCS" "$RUN/data/train.jsonl" >"$OUT/transfer.jsonl"
[ -d "$OUT/shards" ] || "$SLM" data pack "$OUT/transfer.jsonl" "$RUN/data/val.jsonl" --tokenizer "$RUN/tokenizer.json" \
  --out "$OUT/shards" "${q[@]}"
# The student: the tiny preset at dim 96, 3 layers, hidden 256 (0.30M non-embedding
# parameters against the teacher's 0.73M); the teacher's context and batch.
student=(--set model.dim=96 --set model.n_layers=3 --set model.n_heads=4 --set model.n_kv_heads=2
  --set model.hidden_dim=256 --set train.checkpoint_every=0 --set train.eval_every=100)
time_it() { local t0=$SECONDS; "$@"; echo "  ($((SECONDS - t0)) s)"; }
echo "student from scratch: $STEPS steps on the transfer set"
[ -d "$OUT/scratch/model" ] || time_it "$SLM" pretrain --config tiny "${student[@]}" --max-steps "$STEPS" \
  --data "$OUT/shards" --out "$OUT/scratch" "${q[@]}"
echo "student distilled from the teacher: $STEPS steps on the transfer set"
[ -d "$OUT/kd/model" ] || time_it "$SLM" distill --teacher "$RUN/pretrain/model" --student tiny "${student[@]}" \
  --max-steps "$STEPS" --data "$OUT/shards" --out "$OUT/kd" --alpha "${ALPHA:-0.5}" --temperature "${TEMP:-1}" "${q[@]}"
loss() {
  "$SLM" eval loss --model "$1" --data "$OUT/shards" --out "$OUT/eval_$2" "${q[@]}" >/dev/null
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['models'][0]['loss']['loss'])" "$OUT/eval_$2/report.json"
}
t=$(loss "$RUN/pretrain/model" teacher) s=$(loss "$OUT/scratch/model" scratch) k=$(loss "$OUT/kd/model" kd)
tokens=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['train']['tokens'])" "$OUT/shards/meta.json")
echo "transfer set: $DOCS stories, $tokens tokens; validation loss over the whole val shard:"
echo "  teacher $t   scratch student $s   distilled student $k"
python3 -c "import sys; t,s,k=map(float,sys.argv[1:]); print(f'  recovered: {(s-k)/(s-t):.1%} of the teacher\'s gain over the scratch student')" "$t" "$s" "$k"
"$SLM" distill compare --out "$OUT/compare.svg" "teacher=$RUN/pretrain" "scratch=$OUT/scratch" "distilled=$OUT/kd" >/dev/null
