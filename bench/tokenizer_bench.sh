#!/usr/bin/env bash
# Tokenizer speed and compression, ours beside the anchors in the same run:
#   training: slm tokenizer train vs sentencepiece's spm_train --model_type=bpe (Debian),
#             vocabulary 8192 on SIZE MB of generated stories (default 100), 2 threads each;
#   compression: bytes per token of both on held-out stories;
#   encoding: slm (one thread) vs tiktoken's gpt2 (npm, WASM, one thread) on the same
#             text; and slm data pack's multi-threaded throughput.
# Usage: bench/tokenizer_bench.sh [SIZE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-100}
SLM=./build/slm
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
command -v spm_train >/dev/null || { echo "installing sentencepiece"; apt-get install -y -qq sentencepiece >/dev/null; }
[ -d tests/js/node_modules/tiktoken ] || (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
export NODE_PATH=$PWD/tests/js/node_modules

$SLM data stories --size "$SIZE" --seed 1 --quiet --out "$T/train.txt"
$SLM data stories --size 5 --seed 2 --quiet --out "$T/heldout.txt"
# sentencepiece reads one sentence a line and has no <|endoftext|>: give it the same text
# without the separator lines.
grep -v '^<|endoftext|>$' "$T/train.txt" >"$T/train_spm.txt"
# Held-out text both can represent: sentencepiece drops line breaks, so compare on the
# stories one a line (paragraphs joined by a space); ours still pays for each line end.
python3 - "$T/heldout.txt" "$T/heldout_plain.txt" "$T/heldout_paragraphs.txt" <<'PY'
import sys
stories = [s.strip() for s in open(sys.argv[1]).read().split("<|endoftext|>") if s.strip()]
open(sys.argv[2], "w").write("".join(" ".join(s.split("\n\n")) + "\n" for s in stories))
open(sys.argv[3], "w").write("".join(s + "\n\n" for s in stories))
PY

echo "== training, vocabulary 8192, ${SIZE} MB, 2 threads"
t0=$(date +%s.%N)
spm_train --input="$T/train_spm.txt" --model_prefix="$T/spm" --vocab_size=8192 --model_type=bpe \
  --num_threads=2 --character_coverage=1.0 --max_sentence_length=100000 --hard_vocab_limit=false \
  --minloglevel=2 >"$T/spm.log" 2>&1 || { cat "$T/spm.log"; exit 1; }
t1=$(date +%s.%N)
$SLM tokenizer train "$T/train.txt" --vocab-size 8192 --threads 2 --quiet --out "$T/tok.json"
t2=$(date +%s.%N)
spm_s=$(echo "$t1 - $t0" | bc -l)
slm_s=$(echo "$t2 - $t1" | bc -l)
# A generated story corpus uses a small vocabulary of words: both trainers may stop
# below 8192 when no pair is left to merge; the sizes reached are printed.
spm_vocab=$(wc -l <"$T/spm.vocab")
slm_vocab=$($SLM tokenizer info --tokenizer "$T/tok.json" | awk '/vocabulary size/ {print $3}')
printf "spm_train (BPE)      %7.2f s   vocabulary %d\n" "$spm_s" "$spm_vocab"
printf "slm tokenizer train  %7.2f s   vocabulary %d   speed-up %.1fx\n" "$slm_s" "$slm_vocab" "$(echo "$spm_s / $slm_s" | bc -l)"

echo "== compression on held-out stories (bytes per token; higher is better)"
bytes=$(stat -c %s "$T/heldout_plain.txt")
spm_tokens=$(spm_encode --model="$T/spm.model" --output_format=id <"$T/heldout_plain.txt" | wc -w)
slm_tokens=$($SLM tokenizer encode --tokenizer "$T/tok.json" "$T/heldout_plain.txt" | wc -w)
printf "sentencepiece BPE    %.3f bytes/token (%d tokens; newlines are not encoded)\n" "$(echo "$bytes / $spm_tokens" | bc -l)" "$spm_tokens"
printf "slm byte-level BPE   %.3f bytes/token (%d tokens; every byte encoded)   ratio to spm %.3f\n" \
  "$(echo "$bytes / $slm_tokens" | bc -l)" "$slm_tokens" "$(echo "$spm_tokens / $slm_tokens" | bc -l)"
pbytes=$(stat -c %s "$T/heldout_paragraphs.txt")
ptokens=$($SLM tokenizer encode --tokenizer "$T/tok.json" "$T/heldout_paragraphs.txt" | wc -w)
printf "  (slm with the paragraph breaks kept, which sentencepiece cannot encode: %.3f bytes/token)\n" \
  "$(echo "$pbytes / $ptokens" | bc -l)"

echo "== encoding speed, one thread, same text"
./build/bench/bench_encode "$T/tok.json" "$T/heldout_plain.txt" 3
node bench/tiktoken_encode.js "$T/heldout_plain.txt" 3
echo "-- on C++ and Markdown (this repository's sources: few pieces repeat from the stories)"
cat src/slm/*/*.cpp src/slm/*/*.h docs/*.md README.md >"$T/code.txt"
./build/bench/bench_encode "$T/tok.json" "$T/code.txt" 3
node bench/tiktoken_encode.js "$T/code.txt" 3
echo "== slm data pack, all cores (reading and writing included)"
$SLM data pack "$T/train.txt" --tokenizer "$T/tok.json" --quiet --out "$T/shards" 2>&1
