#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same fp32 pre-training steps (stories15m's shape,
# vocabulary 4096, a step of 8 sequences of 256 tokens) as
#   1 rank x 1 thread (batch 8) | 2 ranks x 1 thread (mpirun, batch 4 each) | the same 2 ranks with one
#   all-reduce after the backward pass instead of one per layer started during it (what overlap saves)
#   | 1 rank x 2 threads (batch 8)
# interleaved REPS times (best kept). Prints tokens/s, the 2-rank scaling efficiency
# (2-rank rate / (2 x 1-rank rate)), the share of a step rank 0 spends in collectives
# (metrics.jsonl's comm_share: sending, and waiting for the slower rank), the bytes each
# step's all-reduce moves, and from them the all-reduce time of 8 GPUs over NVLink (a
# calculation: ring all-reduce moves 2 (N - 1) / N of the gradient bytes over each link).
# Also rank 0's resident memory with and without ZeRO-1.
# The anchor, in the same run: PyTorch (Debian's python3-torch) on the same model, one
# process, and DistributedDataParallel over gloo with 2 processes (bench/torch_ddp.py).
# Usage: bench/dist_bench.sh [STEPS] ; env REPS (2), SHAPE (stories15m), NVLINK_GBS (450)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-8} REPS=${REPS:-2} SHAPE=${SHAPE:-stories15m} NVLINK_GBS=${NVLINK_GBS:-450}
SLM=./build/slm
command -v mpirun >/dev/null || { echo "mpirun not found: scripts/setup.sh installs openmpi-bin" >&2; exit 1; }
if ! /usr/bin/python3 -c "import torch.distributed" 2>/dev/null; then
  echo "installing python3-torch (the anchor)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=passive
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
q=(--quiet)
$SLM data stories --count 20000 --out "$TMP/s.txt" "${q[@]}"
$SLM tokenizer train "$TMP/s.txt" --vocab-size 4096 --out "$TMP/tok.json" "${q[@]}"
$SLM data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --out "$TMP/shards" "${q[@]}" >/dev/null 2>&1
common=(--data "$TMP/shards" --config "configs/$SHAPE.json" --dtype fp32 --set train.eval_every=0
  --set train.checkpoint_every=100000 --set train.grad_accum=1 "${q[@]}")
# The mean tokens/s and comm_share over the steps after the first two (warm-up).
rate() { python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])][2:]
print("%.0f %.3f" % (sum(r["tokens_per_s"] for r in rows) / len(rows), sum(r.get("comm_share", 0) for r in rows) / len(rows)))
PY
}
best() { printf '%s\n' "$@" | sort -g | tail -1; }
declare -A tps=()
comm=0 comm_serial=0
for ((r = 0; r < REPS; ++r)); do
  rm -rf "$TMP"/run_*
  $SLM pretrain "${common[@]}" --max-steps "$STEPS" --out "$TMP/run_1x1" --threads 1 --set train.batch_size=8 >/dev/null
  mpirun -np 2 --oversubscribe $SLM pretrain "${common[@]}" --max-steps "$STEPS" --out "$TMP/run_2x1" --threads 1 --set train.batch_size=4 >/dev/null
  mpirun -np 2 --oversubscribe $SLM pretrain "${common[@]}" --max-steps "$STEPS" --out "$TMP/run_2x1serial" --threads 1 --set train.batch_size=4 \
    --set train.overlap_comm=false >/dev/null
  $SLM pretrain "${common[@]}" --max-steps "$STEPS" --out "$TMP/run_1x2" --threads 2 --set train.batch_size=8 >/dev/null
  for k in 1x1 2x1 2x1serial 1x2; do
    read -r t c < <(rate "$TMP/run_$k/metrics.jsonl")
    tps[$k]=$(best "${tps[$k]:-0}" "$t")
    [ $k = 2x1 ] && comm=$c
    [ $k = 2x1serial ] && comm_serial=$c
  done
  # The anchor: PyTorch, the same model, 1 process and DistributedDataParallel over gloo.
  for w in 1 2; do
    t=$(OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_ddp.py "configs/$SHAPE.json" 4096 $((8 / w)) "$STEPS" $w |
        sed -n 's/^RESULT tokens_per_s=\([0-9.]*\).*/\1/p')
    tps[torch_$w]=$(best "${tps[torch_$w]:-0}" "${t:-0}")
  done
done
# ZeRO-1's memory: rank 0's resident memory at the last step (metrics.jsonl's rss_mb,
# before the checkpoint gathers the whole AdamW state), 2 ranks without and with --zero 1.
rss() {
  mpirun -np 2 --oversubscribe $SLM pretrain "${common[@]}" --max-steps 3 --out "$TMP/rss_$1" --threads 1 \
    --set train.batch_size=4 --zero "$1" >/dev/null
  tail -1 "$TMP/rss_$1/metrics.jsonl" | python3 -c "import json, sys; print('%.0f' % json.loads(sys.stdin.read())['rss_mb'])"
}
rss0=$(rss 0) rss1=$(rss 1)
# Parameters, from the safetensors header of the model written.
params=$(python3 - "$TMP/run_1x1/model/model.safetensors" <<'PY'
import json, math, struct, sys
f = open(sys.argv[1], "rb")
header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
print(sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__"))
PY
)
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $SHAPE, $STEPS steps of 8 x 256 tokens, best of $REPS"
printf '%-28s %10s\n' "run" "tokens/s"
printf '%-28s %10s\n' "1 rank x 1 thread" "${tps[1x1]}" "2 ranks x 1 thread (MPI)" "${tps[2x1]}" \
  "  the same, no overlap" "${tps[2x1serial]}" "1 rank x 2 threads (OpenMP)" "${tps[1x2]}" \
  "PyTorch 1 process x 1 thread" "${tps[torch_1]}" "PyTorch DDP 2 x 1 (gloo)" "${tps[torch_2]}"
awk -v a="${tps[1x1]}" -v b="${tps[2x1]}" -v c="${tps[1x2]}" -v s="$comm" -v p="$params" -v bw="$NVLINK_GBS" \
    -v ta="${tps[torch_1]}" -v tb="${tps[torch_2]}" \
    -v r0="$rss0" -v r1="$rss1" -v d="${tps[2x1serial]}" -v s0="$comm_serial" 'BEGIN {
  printf "2-rank scaling efficiency: %.0f%% (2 ranks / (2 x 1 rank)); 2 ranks vs 2 OpenMP threads: %.2fx\n", 100 * b / (2 * a), b / c
  if (ta > 0 && tb > 0) printf "PyTorch DDP scaling efficiency: %.0f%%; slm 2 ranks / PyTorch DDP 2 ranks: %.2fx\n", 100 * tb / (2 * ta), b / tb
  printf "rank 0 in collectives: %.1f%% of a step (communication and waiting for the other rank); %.1f%% with one all-reduce after the backward\n", 100 * s, 100 * s0
  printf "overlap (a layer'"'"'s all-reduce started as soon as the backward has finished it): %.2fx the tokens/s of one all-reduce after the backward\n", b / d
  bytes = 4 * p
  printf "rank 0 resident memory (2 ranks): %.0f MB; with --zero 1: %.0f MB (AdamW state: %.1f MB whole, %.1f MB a rank)\n", r0, r1, 8 * p / 1e6, 4 * p / 1e6
  printf "all-reduce per step: %d parameters, %.1f MB of fp32 gradients\n", p, bytes / 1e6
  printf "8 GPUs, ring all-reduce over NVLink at %d GB/s a direction: %.3f ms a step (calculated, not measured)\n", bw, 1e3 * 2 * 7 / 8 * bytes / (bw * 1e9)
}'
