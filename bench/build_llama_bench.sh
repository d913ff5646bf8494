#!/usr/bin/env bash
# Builds build/bench/llama_bench (bench/llama_bench.c): a C driver for the prebuilt llama.cpp
# that npm's node-llama-cpp installs, compiled against that release's own headers, which
# come from the llama.cpp source bundle node-llama-cpp carries (no download). Prints the
# binary's path; does nothing when it is already newer than its source.
# Usage: bench/build_llama_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NLC=tests/js/node_modules/node-llama-cpp
BINS=tests/js/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
OUT=build/bench/llama_bench SRC=build/llama_src
[ -f "$NLC/llama/gitRelease.bundle" ] && [ -d "$BINS" ] ||
  { echo "node-llama-cpp and its linux-x64 binaries are needed: (cd tests/js && npm install --no-save)" >&2; exit 1; }
if [ ! -x "$OUT" ] || [ bench/llama_bench.c -nt "$OUT" ]; then
  [ -f "$SRC/include/llama.h" ] || { rm -rf "$SRC"; git clone -q "$NLC/llama/gitRelease.bundle" "$SRC" 2>/dev/null; }
  mkdir -p build/bench
  BINS_ABS=$(cd "$BINS" && pwd)
  gcc -O2 -Wall -o "$OUT.tmp" bench/llama_bench.c -I"$SRC/include" -I"$SRC/ggml/include" \
    "$BINS_ABS"/libllama.v*.so "$BINS_ABS"/libggml-base.so "$BINS_ABS"/libggml.v*.so -Wl,-rpath,"$BINS_ABS"
  mv "$OUT.tmp" "$OUT"
fi
echo "$OUT"
