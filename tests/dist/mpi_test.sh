#!/usr/bin/env bash
# Data-parallel training under a real mpirun (Open MPI), 2 ranks on this machine:
#  - 2 ranks x batch B give the losses of 1 rank x 2B (reduction-order tolerance), and with
#    --deterministic the weights of 1 rank x 2 micro-batches of B, bit for bit; the same
#    with --zero 1 (AdamW state sharded); finetune likewise; the per-layer all-reduce
#    started in the backward pass (overlap) sums the same as one after it;
#  - a 2-rank checkpoint resumes on 1 rank and ends bit for bit where the straight run does;
#    a world size that cannot keep the step's batch is refused, naming the checkpoint;
#  - a killed rank, or one that hangs, ends the job non-zero within the timeout, and the last
#    checkpoint is whole; Ctrl-C on mpirun saves one checkpoint.
# Usage: mpi_test.sh PATH/TO/slm
source "$(dirname "$0")/../lib/checks.sh"
SLM=$1
command -v mpirun >/dev/null || die "mpirun not found (scripts/setup.sh installs openmpi-bin)"
# CI runs as root; Open MPI refuses root unless told (here only, not globally).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Two ranks on two cores: one thread each, and OpenMP threads that sleep rather than spin.
export OMP_WAIT_POLICY=passive
MPI=(mpirun -np 2 --oversubscribe)

q=(--quiet --threads 1)
"$SLM" data stories --count 1500 --out "$TMP/s.txt" "${q[@]}" || die "data stories"
"$SLM" tokenizer train "$TMP/s.txt" --vocab-size 400 --out "$TMP/tok.json" "${q[@]}" || die "tokenizer train"
"$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --out "$TMP/shards" "${q[@]}" >/dev/null 2>&1 || die "data pack"
base=(--data "$TMP/shards" --set model.dim=32 --set model.n_layers=2 --set model.n_heads=2 --set model.n_kv_heads=1
  --set model.hidden_dim=64 --set model.context=128 --set train.eval_every=0 --set train.warmup_steps=2
  --set train.eval_batches=1 --dtype fp32 --threads 1)
small=("${base[@]}" --quiet)
pre() { "$SLM" pretrain "${small[@]}" "$@" >/dev/null; }
mpi_pre() { "${MPI[@]}" "$SLM" pretrain "${small[@]}" "$@" >/dev/null; }
losses() { python3 -c "import json,sys; print(' '.join('%.6g' % json.loads(l)['loss'] for l in open(sys.argv[1])))" "$1"; }
same_weights() { cmp -s "$1/model/model.safetensors" "$2/model/model.safetensors"; }

# --- equal to one process
pre --out "$TMP/one_acc" --set train.batch_size=4 --set train.grad_accum=2 --max-steps 6 --deterministic || die "1 rank"
pre --out "$TMP/one_b8" --set train.batch_size=8 --max-steps 6 || die "1 rank, batch 8"
mpi_pre --out "$TMP/two_det" --set train.batch_size=4 --max-steps 6 --deterministic || die "2 ranks deterministic"
same_weights "$TMP/one_acc" "$TMP/two_det" && ok || bad "deterministic: 2 ranks x 4 differ from 1 rank x 2 x 4"
[ "$(losses "$TMP/one_acc/metrics.jsonl")" = "$(losses "$TMP/two_det/metrics.jsonl")" ] && ok || bad "deterministic losses differ"
mpi_pre --out "$TMP/two" --set train.batch_size=4 --max-steps 6 || die "2 ranks"
python3 - "$TMP/one_b8/metrics.jsonl" "$TMP/two/metrics.jsonl" <<'PY' && ok || bad "2 ranks x 4 vs 1 rank x 8: losses differ"
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p)] for p in sys.argv[1:3])
assert len(a) == len(b) == 6, (len(a), len(b))
worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
assert worst < 1e-4, worst
PY
# Overlap: each layer's all-reduce started in the backward pass gives the same sums as one
# all-reduce after it (two ranks add the same two numbers whichever way the pieces go),
# also with accumulation (only the last micro-batch's backward starts them).
mpi_pre --out "$TMP/two_serial" --set train.batch_size=4 --max-steps 6 --set train.overlap_comm=false || die "2 ranks, no overlap"
same_weights "$TMP/two" "$TMP/two_serial" && ok || bad "overlapped all-reduce differs from one all-reduce after the backward"
mpi_pre --out "$TMP/acc_overlap" --set train.batch_size=2 --set train.grad_accum=2 --max-steps 4 || die "2 ranks, accumulation"
mpi_pre --out "$TMP/acc_serial" --set train.batch_size=2 --set train.grad_accum=2 --max-steps 4 --set train.overlap_comm=false || die "2 ranks, accumulation, no overlap"
same_weights "$TMP/acc_overlap" "$TMP/acc_serial" && ok || bad "overlap with accumulation differs from one all-reduce"
mpi_pre --out "$TMP/zero_det" --set train.batch_size=4 --max-steps 6 --deterministic --zero 1 || die "ZeRO-1"
same_weights "$TMP/one_acc" "$TMP/zero_det" && ok || bad "--zero 1 --deterministic differs from 1 rank"
mpi_pre --out "$TMP/zero" --set train.batch_size=4 --max-steps 6 --zero 1 || die "ZeRO-1 (fast sums)"
python3 - "$TMP/one_b8/metrics.jsonl" "$TMP/zero/metrics.jsonl" <<'PY' && ok || bad "--zero 1: losses differ from 1 rank x 8"
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p)] for p in sys.argv[1:3])
assert max(abs(x - y) / abs(x) for x, y in zip(a, b)) < 1e-4
PY
grep -q '"world": 2' "$TMP/two/run.json" && ok || bad "run.json does not record the world size"

# --- resume a 2-rank checkpoint on 1 rank (grad_accum becomes 2 so the step keeps 8 sequences)
mpi_pre --out "$TMP/r" --set train.batch_size=4 --max-steps 6 --deterministic --zero 1 --stop-after 3 2>/dev/null
[ -d "$TMP/r/checkpoints/step_00000003" ] && ok || bad "no 2-rank checkpoint at step 3"
"$SLM" pretrain "${base[@]}" --out "$TMP/r" --set train.batch_size=4 --max-steps 6 --deterministic \
  --resume "$TMP/r" >/dev/null 2>"$TMP/err" || bad "resume on 1 rank: $(cat "$TMP/err")"
grep -q "grad_accum is now 2" "$TMP/err" && ok || bad "the resume does not say how it keeps the batch: $(head -3 "$TMP/err")"
same_weights "$TMP/one_acc" "$TMP/r" && ok || bad "2-rank run resumed on 1 rank does not end where the straight run does"
pre --out "$TMP/odd" --set train.batch_size=4 --max-steps 4 --stop-after 2 2>/dev/null
"${MPI[@]}" "$SLM" pretrain "${small[@]}" --out "$TMP/odd" --set train.batch_size=4 --max-steps 4 --resume "$TMP/odd" \
  >/dev/null 2>"$TMP/err" && bad "a 1-rank, 1-micro-batch checkpoint resumed on 2 ranks" ||
  { grep -q "cannot make the same step" "$TMP/err" && ok || bad "unclear refusal: $(grep error "$TMP/err" | head -2)"; }

# --- finetune: 2 ranks deterministic == 1 rank with 2 micro-batches
for i in $(seq 1 40); do
  printf '{"instruction": "Count to %s.", "input": "", "output": "%s"}\n' $i "$(seq -s ' ' 1 $((i % 9 + 1)))"
done >"$TMP/sft.jsonl"
ft=(finetune --base "$TMP/one_b8/model" --data "$TMP/sft.jsonl" --set train.batch_size=2 --max-steps 4
  --set train.eval_every=0 --set train.warmup_steps=1 --dtype fp32 --deterministic "${q[@]}")
"$SLM" "${ft[@]}" --out "$TMP/ft1" --set train.grad_accum=2 >/dev/null || die "finetune, 1 rank"
"${MPI[@]}" "$SLM" "${ft[@]}" --out "$TMP/ft2" >/dev/null || die "finetune, 2 ranks"
same_weights "$TMP/ft1" "$TMP/ft2" && ok || bad "finetune: 2 ranks differ from 1 rank x 2 micro-batches"

# --- faults: a killed rank, a hung rank (stopped), Ctrl-C on mpirun
long=(--out "$TMP/f" --set train.batch_size=4 --set train.checkpoint_every=10 --max-steps 100000000 --dist-timeout 10)
rank_pid() { pgrep -f "slm pretrain .*--out $TMP/f" | grep -v "^$1\$" | tail -1; }
wait_for_checkpoint() { for _ in $(seq 1 600); do ls "$TMP/f/checkpoints" 2>/dev/null | grep -q step_ && return 0; sleep 0.1; done; return 1; }
for fault in KILL STOP; do
  rm -rf "$TMP/f"
  "${MPI[@]}" "$SLM" pretrain "${small[@]}" "${long[@]}" >/dev/null 2>"$TMP/err_$fault" &
  mp=$!
  wait_for_checkpoint || { kill -KILL $mp; die "$fault: no checkpoint within 60 s"; }
  victim=$(pgrep -P $mp | tail -1)
  kill -$fault "$victim"
  t0=$(date +%s)
  wait $mp && bad "$fault: mpirun exited 0 after a rank was stopped" || ok
  took=$(($(date +%s) - t0))
  [ $took -le 30 ] && ok || bad "$fault: the job took $took s to end (timeout 10 s)"
  [ "$fault" = STOP ] && { grep -q "did not complete within 10 s" "$TMP/err_$fault" && ok || bad "STOP: no timeout message: $(grep -m2 error "$TMP/err_$fault")"; }
  kill -KILL "$victim" 2>/dev/null
  last=$(ls -d "$TMP/f/checkpoints"/step_* | tail -1)
  "$SLM" pretrain "${small[@]}" --out "$TMP/f" --set train.batch_size=4 --set train.grad_accum=2 \
    --max-steps $(( $(basename "$last" | sed 's/step_0*//') + 1 )) --resume "$TMP/f" >/dev/null 2>"$TMP/err" &&
    ok || bad "$fault: the last checkpoint does not resume: $(cat "$TMP/err")"
done
rm -rf "$TMP/f"
"${MPI[@]}" "$SLM" pretrain "${base[@]}" "${long[@]}" --set train.checkpoint_every=100000 >/dev/null 2>"$TMP/err_int" &
mp=$!
for _ in $(seq 1 600); do [ -s "$TMP/f/metrics.jsonl" ] && break; sleep 0.1; done
kill -INT $mp
wait $mp
grep -q "checkpoint saved" "$TMP/err_int" && ok || bad "Ctrl-C: no checkpoint saved: $(tail -3 "$TMP/err_int")"
[ "$(ls "$TMP/f/checkpoints" | wc -l)" = 1 ] && ok || bad "Ctrl-C: expected one checkpoint, found: $(ls "$TMP/f/checkpoints")"

finish mpi
