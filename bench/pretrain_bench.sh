#!/usr/bin/env bash
# Training speed: slm beside PyTorch (Debian's python3-torch, fp32, AdamW, same
# architecture and shapes, vocabulary 4096), 2 threads each, in the same run; MFU over
# the peak of a 2048³ sgemm measured in the same run; peak memory against the estimate.
# Usage: bench/pretrain_bench.sh [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-5}
THREADS=${THREADS:-2}
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing python3-torch (the anchor)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
result() { sed -n 's/^RESULT tokens_per_s=\([0-9.]*\).*/\1/p'; }
for shape in "tiny 16" "stories15m 8" "stories42m 4"; do
  set -- $shape
  echo "== $1"
  ours=$(OMP_NUM_THREADS=$THREADS ./build/bench/bench_train "configs/$1.json" 4096 "$2" "$STEPS" | tee /dev/stderr | result)
  theirs=$(OMP_NUM_THREADS=$THREADS /usr/bin/python3 bench/torch_llama.py "configs/$1.json" 4096 "$2" "$STEPS" "$THREADS" | tee /dev/stderr | result)
  printf "ratio  slm / PyTorch = %.2f\n" "$(echo "$ours / $theirs" | bc -l)"
done
