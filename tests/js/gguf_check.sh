#!/usr/bin/env bash
# slm's GGUF export read by Hugging Face's GGUF parser (npm @huggingface/gguf): metadata
# and tensor table as the model folder says, for f32, f16 and q8_0, tied and untied; and
# slm generates the same greedy text from the .gguf as from the folder.
# Usage: gguf_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -d "$HERE/node_modules/@huggingface/gguf" ] || { echo "FAIL: npm packages missing: (cd tests/js && npm ci)"; exit 1; }
q=(--quiet --threads 2)
"$SLM" data stories --count 200 --out "$T/s.txt" "${q[@]}"
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --out "$T/tok.json" "${q[@]}"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null
for tie in true false; do
  "$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=96 \
    --set model.context=128 --set model.tie_embeddings=$tie --set train.batch_size=4 --max-steps 20 \
    --data "$T/shards" --out "$T/run_$tie" "${q[@]}" >/dev/null
  M="$T/run_$tie/model"
  for type in f32 f16 q8_0; do
    "$SLM" export gguf --model "$M" --type $type --out "$T/m_$type.gguf" >/dev/null
    node "$HERE/gguf_check.js" "$T/m_$type.gguf" "$M" $type
  done
  a=$("$SLM" generate --model "$M" --prompt "Once upon a time" --temperature 0 --max-tokens 40 --quiet)
  b=$("$SLM" generate --model "$T/m_f32.gguf" --prompt "Once upon a time" --temperature 0 --max-tokens 40 --quiet)
  [ "$a" = "$b" ] || { echo "FAIL: the .gguf generates other text than the folder"; exit 1; }
  echo "ok: greedy text from the .gguf equals the folder's (tie_embeddings=$tie)"
done
