#!/usr/bin/env bash
# Training speed: slm (fp32, and bf16 mixed precision where the CPU has AVX512_BF16) beside
# PyTorch (Debian's python3-torch: fp32, and its own bf16 autocast) on the same
# architecture and shapes (vocabulary 4096), THREADS threads each, interleaved in one run,
# REPS times (best kept); ratios to PyTorch fp32; MFU over the peak of a 2048³ sgemm
# measured in the same run; peak resident memory of each.
# Usage: bench/pretrain_bench.sh [STEPS] ; env THREADS (2), REPS (2), SHAPES,
#        BENCH_CLOCK=cpu (time by process CPU time: for a busy shared machine)
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-5}
THREADS=${THREADS:-2} REPS=${REPS:-2}
SHAPES=${SHAPES:-tiny:16 stories15m:8 stories42m:4}
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing python3-torch (the anchor)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
field() { sed -n "s/^RESULT.* $1=\([0-9.e+-]*\).*/\1/p" | head -1; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
slm_dtypes="fp32"
grep -q avx512_bf16 /proc/cpuinfo && slm_dtypes="fp32 bf16"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $THREADS threads; $STEPS steps, best of $REPS runs; clock: ${BENCH_CLOCK:-wall}"
for spec in $SHAPES; do
  shape=${spec%%:*} B=${spec##*:}
  declare -A tps=() mem=() mfu=()
  for ((r = 0; r < REPS; ++r)); do
    for d in $slm_dtypes; do
      out=$(OMP_NUM_THREADS=$THREADS ./build/bench/bench_train "configs/$shape.json" 4096 "$B" "$STEPS" $d)
      tps[slm_$d]=$(best "${tps[slm_$d]:-0}" "$(echo "$out" | field tokens_per_s)")
      mem[slm_$d]=$(echo "$out" | field peak_mb) mfu[slm_$d]=$(echo "$out" | field mfu)
    done
    for d in fp32 bf16; do
      out=$(OMP_NUM_THREADS=$THREADS /usr/bin/python3 bench/torch_llama.py "configs/$shape.json" 4096 "$B" "$STEPS" \
            "$THREADS" $d 2>/dev/null) || { tps[torch_$d]=0; continue; }  # autocast may not run on an old PyTorch
      tps[torch_$d]=$(best "${tps[torch_$d]:-0}" "$(echo "$out" | field tokens_per_s)")
      mem[torch_$d]=$(echo "$out" | field peak_mb)
    done
  done
  echo
  echo "== $shape (B $B)            tokens/s   vs PyTorch fp32   peak MB   MFU (of fp32 sgemm peak)"
  for k in slm_fp32 slm_bf16 torch_fp32 torch_bf16; do
    [ -n "${tps[$k]:-}" ] || continue
    m=${mfu[$k]:-}; [ -n "$m" ] && m=$(awk -v x="$m" 'BEGIN { printf "%.0f%%", 100 * x }')
    printf '  %-22s %10.0f   %6sx          %7s   %s\n' "$k" "${tps[$k]}" "$(ratio "${tps[$k]}" "${tps[torch_fp32]:-0}")" \
      "${mem[$k]:-?}" "$m"
  done
  unset tps mem mfu
done
