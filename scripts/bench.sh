#!/usr/bin/env bash
# Runs every benchmark under bench/ and prints our figures beside the anchors'.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh >/dev/null
echo "== story generation (one core; goal: at least 50 MB/min)"
./build/bench/bench_stories --benchmark_counters_tabular=true
echo
echo "== tokenizer: training vs sentencepiece, compression, encoding vs tiktoken, pack"
bench/tokenizer_bench.sh "${TOKENIZER_BENCH_MB:-100}"
echo
echo "== pre-training: slm vs PyTorch (tokens/s, MFU, memory)"
bench/pretrain_bench.sh 3
echo
echo "== inference: prompt and decode tokens/s, fp32 and q8"
bench/infer_bench.sh
echo
echo "== LoRA vs full fine-tuning: memory and tokens/s, slm beside PyTorch (needs the quickstart's runs/)"
if [ -d runs/quickstart/pretrain/model ]; then bench/lora_bench.sh 20; else echo "skipped: run scripts/quickstart.sh first"; fi
