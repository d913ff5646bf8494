#!/usr/bin/env bash
# The evaluation report end to end: a small model trained here, `slm eval` on it (loss,
# stories, few-shot), `slm eval --compare` of two models, and `slm eval report`; each page
# opened in headless Chromium, which must draw the charts without a console error.
# Usage: report_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  echo "FAIL: npm packages missing: run (cd tests/js && npm install --no-save), as scripts/test.sh does"
  exit 1
fi
command -v chromium >/dev/null || { echo "FAIL: Debian's chromium is not installed (scripts/test.sh installs it)"; exit 1; }
q=(--quiet --threads 2)
"$SLM" data stories --count 300 --out "$T/s.txt" "${q[@]}"
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --out "$T/tok.json" "${q[@]}"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}"
small=(--set model.dim=32 --set model.n_layers=2 --set model.n_heads=4 --set model.n_kv_heads=2
  --set model.hidden_dim=64 --set model.context=128 --set train.eval_every=10 --set train.batch_size=4)
"$SLM" pretrain --config tiny "${small[@]}" --max-steps 30 --data "$T/shards" --out "$T/a" "${q[@]}" >/dev/null
"$SLM" pretrain --config tiny "${small[@]}" --max-steps 15 --data "$T/shards" --out "$T/b" "${q[@]}" >/dev/null
ev=(--stories 3 --story-tokens 40 --items 4 --k 0,1 "${q[@]}")
"$SLM" eval --model "$T/a/model" --out "$T/eval" "${ev[@]}" >/dev/null
node "$HERE/report_check.js" "$T/eval/report.html" 1
"$SLM" eval --compare "$T/a/model" "$T/b/model" --out "$T/cmp" "${ev[@]}" >/dev/null
node "$HERE/report_check.js" "$T/cmp/report.html" 2
"$SLM" eval report --from "$T/eval/report.json" --from "$T/cmp/report.json" --out "$T/merged" >/dev/null
node "$HERE/report_check.js" "$T/merged/report.html" 3
python3 - "$T/eval/report.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
assert m["loss"]["perplexity"] > 1, m["loss"]
assert len(m["stories"]["samples"]) == 6
assert {r["task"] for r in m["fewshot"]} == {"which_object", "which_character", "which_feeling", "which_ending"}
assert m["curve"]["train"], "the training curve is in the report"
print("ok: report.json holds loss, stories, few-shot and the curve")
PY
