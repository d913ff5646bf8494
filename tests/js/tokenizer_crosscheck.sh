#!/usr/bin/env bash
# slm's tokenizer against Hugging Face tokenizers (the Rust library, via npm's
# @anush008/tokenizers): a vocabulary trained by slm on stories plus a mixed corpus
# (code, several scripts, emoji, long whitespace runs, contractions, special tokens) must
# encode to the same ids in both; HF's ByteLevel decoder must give every text back; and
# the file as HF re-saves it must load in slm and encode the same again.
# Usage: tokenizer_crosscheck.sh PATH/TO/slm FIXTURES_DIR
set -euo pipefail
SLM=$1
FIX=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -d "$HERE/node_modules/@anush008/tokenizers" ]; then
  echo "FAIL: npm packages missing: run (cd tests/js && npm ci), as scripts/test.sh does"
  exit 1
fi
"$SLM" data stories --count 300 --quiet --out "$T/stories.txt"
for vocab in 300 1500; do
  "$SLM" tokenizer train "$T/stories.txt" "$FIX/mixed.jsonl" --vocab-size $vocab --min-frequency 1 --quiet \
    --out "$T/tok.json"
  "$SLM" tokenizer encode --tokenizer "$T/tok.json" --jsonl "$FIX/mixed.jsonl" >"$T/ours.jsonl"
  node "$HERE/hf_encode.js" "$T/tok.json" "$FIX/mixed.jsonl" "$T/hf_saved.json" >"$T/hf.jsonl"
  if ! cmp -s "$T/ours.jsonl" "$T/hf.jsonl"; then
    echo "FAIL: vocab $vocab: slm and Hugging Face encode differently:"
    diff "$T/ours.jsonl" "$T/hf.jsonl" | head -5
    exit 1
  fi
  "$SLM" tokenizer encode --tokenizer "$T/hf_saved.json" --jsonl "$FIX/mixed.jsonl" >"$T/ours2.jsonl"
  if ! cmp -s "$T/ours.jsonl" "$T/ours2.jsonl"; then
    echo "FAIL: vocab $vocab: the file as Hugging Face saves it encodes differently in slm"
    exit 1
  fi
  echo "vocab $vocab: $(wc -l <"$T/ours.jsonl") records encode identically in slm and Hugging Face tokenizers"
done
echo "2 passed, 0 failed"
