#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: once in Release, once more
# under AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keyed by paths relative to the project: a fresh clone reuses earlier builds.
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=1  # the sanitizer build has -g: do not key it by the clone's folder
./scripts/setup.sh
jobs=$(nproc)
# Headless Chromium for the report test (Debian's, driven by playwright-core from npm).
if ! command -v chromium >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
# PyTorch (Debian's) reads the LoRA adapters in PEFT's layout (train.lora_peft_layout).
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
fi
# npm packages for the cross-checks against real implementations (HF tokenizers, HF's
# GGUF parser, Playwright, llama.cpp's prebuilt CPU binary). NODE_LLAMA_CPP_SKIP_DOWNLOAD:
# node-llama-cpp's install step must not fetch or build llama.cpp; the prebuilt is enough.
# `npm install --no-save`, not `npm ci`: npm 11 records only this platform's optional
# @node-llama-cpp/* prebuilts in the lock file, and `npm ci` then refuses the lock file as
# out of sync; install still takes the locked versions and leaves the lock file as it is.
for pkg in @anush008/tokenizers @huggingface/gguf playwright-core openai node-llama-cpp @node-llama-cpp/linux-x64; do
  if [ ! -d "tests/js/node_modules/$pkg" ]; then
    (cd tests/js && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --no-audit --no-fund --loglevel=error)
    break
  fi
done

echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== tests (AddressSanitizer + UBSan; the interop checks ran in Release above)"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLM_SANITIZE=ON -DSLM_BUILD_BENCH=OFF \
  "${launcher[@]}" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE interop
