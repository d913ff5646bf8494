# Sourced by the scripts that start a server in the background and must learn its port:
# tests/js/serve_check.sh, tests/distill/distill_cli_test.sh, bench/serve_bench.sh.
#
# wait_for_server LOG TRIES [READY]
#   Waits, 0.1 s a try, until LOG holds "listening on http://127.0.0.1:PORT" and, when READY
#   is given, a line matching READY too (slm serve prints "slm serve: ready" once its models
#   are loaded). Sets PORT and returns 0; returns 1 with PORT empty when TRIES run out.
#   Make LOG (": >LOG") before starting the server: its 2>LOG opens the file only once the
#   background child runs, and a read that comes first would fail under set -e.
wait_for_server() {
  local log=$1 tries=$2 ready=${3:-}
  for _ in $(seq "$tries"); do
    PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    if [ -n "$PORT" ] && { [ -z "$ready" ] || grep -q "$ready" "$log"; }; then
      return 0
    fi
    sleep 0.1
  done
  PORT=
  return 1
}
