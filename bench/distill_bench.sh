#!/usr/bin/env bash
# The cost of a distillation step against a plain training step, slm beside PyTorch
# (Debian's python3-torch) doing the same in the same run: a top-K cached teacher, and
# for slm also the teacher run on the fly (teacher: the tiny preset, student: half its
# width). 2 threads each. Usage: bench/distill_bench.sh [STEPS] [K]
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${1:-5}
K=${2:-32}
THREADS=${THREADS:-2}
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  echo "installing python3-torch (the anchor)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
ratio() { sed -n 's/^RESULT.*cached_ratio=\([0-9.]*\).*/\1/p'; }
student=$(mktemp --suffix=.json)
trap 'rm -f "$student"' EXIT
# The student: the tiny preset at half its width (dim 64, hidden 172).
python3 -c 'import json,sys; c=json.load(open("configs/tiny.json")); c["model"].update(dim=64, hidden_dim=172); json.dump(c, open(sys.argv[1], "w"))' "$student"
for shape in "configs/tiny.json 8" "$student 8"; do
  set -- $shape
  echo "== student $1"
  ours=$(OMP_NUM_THREADS=$THREADS ./build/bench/bench_distill "$1" 4096 "$2" "$STEPS" "$K" configs/tiny.json | tee /dev/stderr | ratio)
  theirs=$(OMP_NUM_THREADS=$THREADS /usr/bin/python3 bench/torch_distill.py "$1" 4096 "$2" "$STEPS" "$K" "$THREADS" | tee /dev/stderr | ratio)
  printf "KD step / plain step with top-%s cached: slm %.2fx, PyTorch %.2fx\n" "$K" "$ours" "$theirs"
done
