#!/usr/bin/env bash
# Issue 17's goals, measured on the built-in stories: a teacher (the tiny preset's shape,
# context 128) trained longer; students of about half its parameters trained for the same
# steps on the same windows (a) from scratch, (b) distilled with the teacher on the fly,
# (c) distilled from the teacher's cached top-32 logits. Prints each validation loss, the
# share of the teacher's gain over the scratch student that distillation recovers, and
# draws all validation curves in one picture (OUT/compare.svg).
# Usage: bench/distill_experiment.sh OUT [TEACHER_STEPS] [STUDENT_STEPS]
set -euo pipefail
SLM=${SLM:-$(dirname "$0")/../build/slm}
OUT=$1
TSTEPS=${2:-1500}
SSTEPS=${3:-400}
q=(--quiet --threads "${THREADS:-1}")  # 1: on a shared machine, OpenMP threads that wait for each other lose most of their time
mkdir -p "$OUT"
[ -s "$OUT/stories.txt" ] || "$SLM" data stories --count 8000 --seed 11 --out "$OUT/stories.txt" "${q[@]}"
[ -s "$OUT/tok.json" ] || "$SLM" tokenizer train "$OUT/stories.txt" --vocab-size 1024 --out "$OUT/tok.json" "${q[@]}"
[ -d "$OUT/shards" ] || "$SLM" data pack "$OUT/stories.txt" --tokenizer "$OUT/tok.json" --val-fraction 0.05 --out "$OUT/shards" "${q[@]}" >/dev/null
common=(--set model.context=128 --set train.batch_size=${BATCH:-8} --set train.eval_every=50 --set train.eval_batches=20
  --set train.warmup_steps=30 --set train.checkpoint_every=0 --set train.lr=3e-3 --set train.min_lr=3e-4)
# Teacher: dim 128, 4 layers (the tiny preset); student: dim 96, 3 layers (about half the parameters).
teacher=(--config tiny "${common[@]}")
student=(--set model.dim=96 --set model.n_layers=3 --set model.n_heads=4 --set model.n_kv_heads=2
  --set model.hidden_dim=256 "${common[@]}")
time_it() { local t0=$SECONDS; "$@"; echo "  ($((SECONDS - t0)) s)"; }
[ -s "$OUT/teacher/model/model.safetensors" ] || { echo "teacher: $TSTEPS steps"; time_it "$SLM" pretrain "${teacher[@]}" --max-steps "$TSTEPS" --data "$OUT/shards" --out "$OUT/teacher" "${q[@]}"; }
echo "student from scratch: $SSTEPS steps"
time_it "$SLM" pretrain --config tiny "${student[@]}" --max-steps "$SSTEPS" --data "$OUT/shards" --out "$OUT/scratch" "${q[@]}"
echo "student distilled, teacher on the fly"
time_it "$SLM" distill --teacher "$OUT/teacher/model" --student tiny "${student[@]}" --max-steps "$SSTEPS" --data "$OUT/shards" --out "$OUT/kd" --alpha "${ALPHA:-0.5}" --temperature "${TEMP:-1}" "${q[@]}"
echo "student distilled, top-32 cached"
time_it "$SLM" distill --teacher "$OUT/teacher/model" --student tiny "${student[@]}" --max-steps "$SSTEPS" --data "$OUT/shards" --out "$OUT/kdc" --cache-topk 32 --alpha "${ALPHA:-0.5}" --temperature "${TEMP:-1}" "${q[@]}"
"$SLM" distill compare --out "$OUT/compare.svg" "teacher=$OUT/teacher" "scratch=$OUT/scratch" "distilled=$OUT/kd" "distilled top-32=$OUT/kdc"

# With an instruction-tuned teacher: the teacher and the scratch student are each
# fine-tuned on slm data instruct's records; a second copy of the student is fine-tuned
# with the KD loss against the tuned teacher instead, for the same steps. Then eval instruct.
[ "${SFT:-1}" = 1 ] || exit 0
FT=${FT_STEPS:-300}
[ -s "$OUT/sft/train.jsonl" ] || "$SLM" data instruct --stories 2000 --seed 3 --out "$OUT/sft" "${q[@]}" >/dev/null
ft=(--data "$OUT/sft/train.jsonl" --max-steps "$FT" --set train.batch_size=8 --set train.eval_every=50 --set train.checkpoint_every=0)
[ -s "$OUT/teacher_ft/model/model.safetensors" ] || { echo "teacher fine-tuned: $FT steps"; time_it "$SLM" finetune --base "$OUT/teacher/model" "${ft[@]}" --truncate --loss token --out "$OUT/teacher_ft" "${q[@]}"; }
echo "student fine-tuned: $FT steps"
time_it "$SLM" finetune --base "$OUT/scratch/model" "${ft[@]}" --truncate --loss token --out "$OUT/scratch_ft" "${q[@]}"
echo "student fine-tuned with the KD loss against the tuned teacher: $FT steps"
time_it "$SLM" distill --teacher "$OUT/teacher_ft/model" --init "$OUT/scratch/model" "${ft[@]}" --alpha "${ALPHA:-0.5}" --temperature "${TEMP:-1}" --out "$OUT/kd_ft" "${q[@]}"
for m in teacher_ft scratch_ft kd_ft; do
  echo "== eval instruct: $m"
  "$SLM" eval instruct --model "$OUT/$m/model" --data "$OUT/sft/heldout.jsonl" --limit "${EVAL_LIMIT:-200}" --out "$OUT/$m/eval_instruct.json" "${q[@]}"
done
"$SLM" distill compare --out "$OUT/compare_ft.svg" "teacher=$OUT/teacher_ft" "scratch=$OUT/scratch_ft" "distilled=$OUT/kd_ft"
