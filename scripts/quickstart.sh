#!/usr/bin/env bash
# The whole pipeline on the built-in story data, as far as it exists today:
#   1. generate a TinyStories-style corpus   (slm data stories)
#   2. import it into clean train/val JSONL  (slm data import)
#   3. train a byte-level BPE tokenizer      (slm tokenizer train)
#   4. pack the corpus into token shards     (slm data pack)
# Later stages (pre-training, fine-tuning, evaluation) join here as they land.
# Everything goes to runs/quickstart/. Usage: scripts/quickstart.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
SLM=./build/slm
RUN=runs/quickstart
SIZE_MB=${1:-20}
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
echo "== A story from the corpus:"
python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['text'])" "$RUN/data/val.jsonl"
echo
echo "Done. Corpus: $RUN/data/{train,val}.jsonl; tokenizer: $RUN/tokenizer.json; shards: $RUN/shards/"
