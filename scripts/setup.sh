#!/usr/bin/env bash
# Installs the Debian packages slm needs (only those missing) and builds it (Release).
# Idempotent: a second run installs nothing and rebuilds only what changed.
# Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$0")/.."
# ccache keyed by paths relative to the project: a fresh clone reuses earlier builds.
export CCACHE_BASEDIR="$PWD"
export CCACHE_NOHASHDIR=1  # the sanitizer build has -g: do not key it by the clone's folder

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache python3
  libcli11-dev nlohmann-json3-dev libfmt-dev libutf8proc-dev
  libgtest-dev libbenchmark-dev libopenblas-openmp-dev libdnnl-dev openmpi-bin libopenmpi-dev
  libhunspell-dev hunspell-en-us libcpp-httplib-dev libssl-dev libsqlite3-dev
  librsvg2-bin  # rsvg-convert: the PNG copies of slm scaling's charts
  nodejs npm
)

missing=()
for p in "${PACKAGES[@]}"; do
  # A Node.js from elsewhere (with its own npm) will do as well as Debian's.
  case "$p" in nodejs | npm) command -v "${p/nodejs/node}" >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "${1:-}" = "--deps-only" ] && exit 0

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/slm"
