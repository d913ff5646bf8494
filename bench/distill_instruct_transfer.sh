#!/usr/bin/env bash
# Issue 17, instruction distillation in the transfer-set regime: an instruction-tuned
# teacher that learned from all of RUN's instruction records hands its answers on to a
# student that sees only the first RECORDS of them (the labelled set a user has), as the
# logit-distillation transfer set does for pre-training (bench/distill_transfer.sh).
# Two students start from the same pre-trained model and train the same steps on the same
# records with the same words weight: one on the labels (slm finetune), one on the labels
# and the teacher's logits (slm distill --init, teacher on the fly). Teacher and both
# students are then scored by slm eval instruct on the same held-out records (greedy).
# Usage: bench/distill_instruct_transfer.sh RUN OUT [RECORDS] [STEPS]
#   RUN: a finished scripts/recipe-cpu.sh run (runs/recipe-cpu): RUN/sft, RUN/pretrain/model
#   env: TEACHER (default RUN/finetune/model), STUDENT (the students' start, default
#        RUN/pretrain/model), ALPHA (0.5), WW (words weight, 10), LIMIT (held-out records,
#        120), THREADS (2)
set -euo pipefail
SLM=${SLM:-$(dirname "$0")/../build/slm}
RUN=$1 OUT=$2 RECORDS=${3:-600} STEPS=${4:-1200}
TEACHER=${TEACHER:-$RUN/finetune/model} STUDENT=${STUDENT:-$RUN/pretrain/model}
q=(--quiet --threads "${THREADS:-2}")
for f in "$TEACHER" "$STUDENT" "$RUN/sft/train.jsonl" "$RUN/sft/heldout.jsonl"; do
  [ -e "$f" ] || { echo "missing $f: run ./scripts/recipe-cpu.sh first" >&2; exit 1; }
done
mkdir -p "$OUT"
head -n "$RECORDS" "$RUN/sft/train.jsonl" >"$OUT/transfer.jsonl"
common=(--data "$OUT/transfer.jsonl" --words-weight "${WW:-10}" --max-steps "$STEPS"
  --set train.checkpoint_every=0)
time_it() { local t0=$SECONDS; "$@"; echo "  ($((SECONDS - t0)) s)"; }
echo "student on the labels: $STEPS steps on $RECORDS records"
[ -d "$OUT/labels/model" ] || time_it "$SLM" finetune --base "$STUDENT" "${common[@]}" --out "$OUT/labels" "${q[@]}"
echo "student on the labels and the teacher's logits: $STEPS steps on the same records"
[ -d "$OUT/kd/model" ] || time_it "$SLM" distill --teacher "$TEACHER" --init "$STUDENT" "${common[@]}" \
  --alpha "${ALPHA:-0.5}" --out "$OUT/kd" "${q[@]}"
for m in teacher labels kd; do
  model=$OUT/$m/model
  [ "$m" = teacher ] && model=$TEACHER
  [ -e "$OUT/eval_$m.json" ] || "$SLM" eval instruct --model "$model" --data "$RUN/sft/heldout.jsonl" \
    --limit "${LIMIT:-120}" --out "$OUT/eval_$m.json" "${q[@]}" >/dev/null
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
rows = [("teacher (all records)", "teacher"), ("student, labels", "labels"), ("student, labels + teacher", "kd")]
keys = [("questions", "question_contains_answer"), ("not yes/no", "question_open_contains_answer"),
        ("required words", "required_words"), ("features", "features"), ("ROUGE-L", "rouge_l"),
        ("commonest answer", "question_same_answer_share")]
print(f"{'':28}" + "".join(f"{k:>17}" for k, _ in keys))
for name, m in rows:
    s = json.load(open(f"{out}/eval_{m}.json"))["scores"]
    cells = [f"{s.get(k) or 0:.3f}" if k == "rouge_l" else f"{100 * (s.get(k) or 0):.1f}%" for _, k in keys]
    print(f"{name:28}" + "".join(f"{c:>17}" for c in cells))
PY
