#!/usr/bin/env bash
# The whole pipeline on the built-in story data, as far as it exists today:
#   1. generate a TinyStories-style corpus   (slm data stories)
#   2. import it into clean train/val JSONL  (slm data import)
#   3. train a byte-level BPE tokenizer      (slm tokenizer train)
#   4. pack the corpus into token shards     (slm data pack)
#   5. pre-train the tiny model, ~6 minutes  (slm pretrain)
#   6. write a story with it                 (slm generate)
# Later stages (fine-tuning, evaluation) join here as they land.
# Everything goes to runs/quickstart/. Usage: scripts/quickstart.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
SLM=./build/slm
RUN=runs/quickstart
SIZE_MB=${1:-20}
STEPS=${QUICKSTART_STEPS:-1000}
mkdir -p "$RUN"

echo
echo "== 1. Generate ${SIZE_MB} MB of stories"
$SLM data stories --size "$SIZE_MB" --seed 1 --out "$RUN/stories.jsonl"

echo
echo "== 2. Import: normalise, de-duplicate, split train/validation"
$SLM data import "$RUN/stories.jsonl" --val-fraction 0.02 --out "$RUN/data"

echo
echo "== 3. Train a byte-level BPE tokenizer (vocabulary 4096)"
$SLM tokenizer train "$RUN/data/train.jsonl" --vocab-size 4096 --out "$RUN/tokenizer.json"
$SLM tokenizer info --tokenizer "$RUN/tokenizer.json" "$RUN/data/val.jsonl"

echo
echo "== 4. Pack train and validation into token shards (llm.c format)"
$SLM data pack "$RUN/data" --tokenizer "$RUN/tokenizer.json" --out "$RUN/shards"
$SLM data sample "$RUN/shards/train_000000.bin" --context 8 --batch 1 --sequential

echo
echo "== 5. Pre-train the tiny model ($STEPS steps; Ctrl-C saves a checkpoint, run again to resume)"
resume=()
[ -d "$RUN/pretrain/checkpoints" ] && [ ! -d "$RUN/pretrain/model" ] && resume=(--resume "$RUN/pretrain")
[ -d "$RUN/pretrain/model" ] && rm -rf "$RUN/pretrain"
$SLM pretrain --config tiny --data "$RUN/shards" --out "$RUN/pretrain" --max-steps "$STEPS" "${resume[@]}"
python3 - "$RUN/pretrain/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
val = [r for r in rows if "val_loss" in r]
print(f"validation loss: {val[0]['val_loss']:.3f} at step {val[0]['step']} -> {val[-1]['val_loss']:.3f} at step {val[-1]['step']}")
PY
echo "loss curve: $RUN/pretrain/loss.svg"

echo
echo "== 6. A story from the model (prompt: 'Once upon a time')"
$SLM generate --model "$RUN/pretrain/model" --prompt "Once upon a time" --max-tokens 200 --temperature 0.7 --top-k 40 --seed 3

echo
echo "Done. Corpus: $RUN/data/; tokenizer: $RUN/tokenizer.json; shards: $RUN/shards/; model: $RUN/pretrain/model/"
