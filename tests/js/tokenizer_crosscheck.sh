#!/usr/bin/env bash
# slm's tokenizer against Hugging Face tokenizers (the Rust library, via npm's
# @anush008/tokenizers): a vocabulary trained by slm on stories plus a mixed corpus
# (code, several scripts, emoji, long whitespace runs, contractions, special tokens) must
# encode to the same ids in both; HF's ByteLevel decoder must give every text back; and
# the file as HF re-saves it must load in slm and encode the same again; also for a
# vocabulary trained with --space-merges. Encoded are the
# training text and text the vocabulary never saw: stories of another seed and GPT-2-style
# edge cases written for this test (tokenizer_cases.jsonl: contractions, numbers, space
# runs, newlines, scripts, emoji, punctuation clusters, trailing spaces, <|endoftext|>).
# Usage: tokenizer_crosscheck.sh PATH/TO/slm FIXTURES_DIR
set -euo pipefail
SLM=$1
FIX=$2
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -d "$HERE/node_modules/@anush008/tokenizers" ]; then
  echo "FAIL: npm packages missing: run (cd tests/js && npm install --no-save), as scripts/test.sh does"
  exit 1
fi
"$SLM" data stories --count 300 --quiet --out "$T/stories.txt"
# Held-out stories: another seed, one JSONL record each (the text between <|endoftext|>).
"$SLM" data stories --count 40 --seed 977 --quiet --out "$T/held.txt"
node -e 'const fs = require("fs");
  const docs = fs.readFileSync(process.argv[1], "utf8").split("<|endoftext|>").filter((d) => d.trim());
  fs.writeFileSync(process.argv[2], docs.map((text) => JSON.stringify({ text })).join("\n") + "\n");' \
  "$T/held.txt" "$T/held.jsonl"
inputs=("$FIX/mixed.jsonl" "$T/held.jsonl" "$HERE/tokenizer_cases.jsonl")
# The third: --space-merges, whose space-joining merges rank after all the others (a word
# split the same after a space or a quote): still a plain byte-level BPE to HF.
for setting in "300 0" "1500 0" "1500 0.3"; do
  read -r vocab space <<<"$setting"
  "$SLM" tokenizer train "$T/stories.txt" "$FIX/mixed.jsonl" --vocab-size $vocab --min-frequency 1 --quiet \
    --space-merges "$space" --out "$T/tok.json"
  for input in "${inputs[@]}"; do
    name=$(basename "$input")
    "$SLM" tokenizer encode --tokenizer "$T/tok.json" --jsonl "$input" >"$T/ours.jsonl"
    node "$HERE/hf_encode.js" "$T/tok.json" "$input" "$T/hf_saved.json" >"$T/hf.jsonl"
    if ! cmp -s "$T/ours.jsonl" "$T/hf.jsonl"; then
      echo "FAIL: vocab $vocab, space merges $space, $name: slm (<) and Hugging Face (>) encode differently (LINE:ids):"
      diff <(grep -n '' "$T/ours.jsonl") <(grep -n '' "$T/hf.jsonl") | head -5
      exit 1
    fi
    "$SLM" tokenizer encode --tokenizer "$T/hf_saved.json" --jsonl "$input" >"$T/ours2.jsonl"
    if ! cmp -s "$T/ours.jsonl" "$T/ours2.jsonl"; then
      echo "FAIL: vocab $vocab, space merges $space, $name: the file as Hugging Face saves it encodes differently in slm"
      exit 1
    fi
    echo "vocab $vocab, space merges $space, $name: $(wc -l <"$T/ours.jsonl") records encode identically in slm and Hugging Face tokenizers"
  done
done
echo "9 passed, 0 failed"
