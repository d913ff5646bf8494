# The frame of a shell test, sourced by tests/*/..._test.sh: a scratch folder removed at
# exit, pass/fail counts, and ok / bad MESSAGE / die MESSAGE. End a test with `finish NAME`.
set -u
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
die() { echo "FAIL: $*"; exit 1; }
finish() {
  echo "$1: $pass passed, $fail failed"
  [ $fail -eq 0 ]
}
