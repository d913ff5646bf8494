#!/usr/bin/env bash
# slm explain trace|patch|lens|attention end to end on a small trained model: each writes
# index.html with inline SVG, each SVG parses as XML (Python's parser), result.json holds
# the numbers, and a prompt file gives the average indirect effect; slm explain swap's
# line and JSON. Usage: explain_test.sh PATH/TO/slm
set -euo pipefail
SLM=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$SLM" data stories --count 300 --seed 2 --quiet --out "$TMP/s.txt"
"$SLM" tokenizer train "$TMP/s.txt" --vocab-size 400 --quiet --out "$TMP/tok.json"
"$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --quiet --out "$TMP/shards" 2>/dev/null
"$SLM" pretrain --data "$TMP/shards" --out "$TMP/run" --set model.dim=32 --set model.n_layers=2 --set model.n_heads=2 \
  --set model.n_kv_heads=1 --set model.hidden_dim=64 --set model.context=64 --set train.batch_size=2 --max-steps 5 \
  --quiet >/dev/null
M=$TMP/run/model
P="Lily has a red ball. Lily gives the ball to"
"$SLM" explain trace -q --model "$M" --prompt "$P" --subject Lily --samples 3 --out "$TMP/trace"
"$SLM" explain patch -q --model "$M" --prompt "$P" --counterfactual "Lily has a big ball. Lily gives the ball to" \
  --answer " Tom" --first-token --cf-answer " a" --out "$TMP/patch"
"$SLM" explain lens -q --model "$M" --prompt "$P" --top 3 --out "$TMP/lens"
"$SLM" explain attention -q --model "$M" --prompt "$P" --out "$TMP/attention"
printf '{"prompt": "%s", "subject": "Lily"}\n{"prompt": "Tom saw a dog. Tom ran to", "subject": "dog"}\n' "$P" >"$TMP/p.jsonl"
"$SLM" explain trace -q --model "$M" --prompts "$TMP/p.jsonl" --samples 2 --out "$TMP/avg"
python3 - "$TMP" <<'PY'
import glob, json, os, sys, xml.etree.ElementTree as ET
t = sys.argv[1]
for d, svgs in [("trace", 3), ("patch", 2), ("lens", 1), ("attention", 4), ("avg", 9)]:
    html = open(os.path.join(t, d, "index.html")).read()
    assert html.count("<svg") == svgs, (d, html.count("<svg"))
    files = glob.glob(os.path.join(t, d, "*.svg"))
    assert len(files) == svgs, (d, files)
    for f in files:
        ET.parse(f)
    json.load(open(os.path.join(t, d, "result.json")))
tr = json.load(open(os.path.join(t, "trace", "result.json")))["traces"][0]
L = 2
assert len(tr["resid"]) == L + 1 and len(tr["mlp"]) == L and len(tr["attn"]) == L
assert tr["subject_tokens"][0] == 0 and len(tr["resid"][0]) == len(tr["tokens"])
# Restoring the last position after the last layer gives the clean probability back.
assert abs(tr["resid"][-1][-1] - tr["p_clean"]) < 1e-5, (tr["resid"][-1][-1], tr["p_clean"])
avg = json.load(open(os.path.join(t, "avg", "result.json")))
assert len(avg["traces"]) == 2 and avg["average_indirect_effect"]["prompts_with_group"][5] == 2
lens = json.load(open(os.path.join(t, "lens", "result.json")))
assert len(lens["top"]) == L + 1 and len(lens["top"][0][0]) == 3
att = json.load(open(os.path.join(t, "attention", "result.json")))["attention"]
assert len(att) == L and len(att[0]) == 2
for row in att[1][1]:
    assert abs(sum(row) - 1) < 1e-4
print("explain: outputs checked")
PY

# slm explain swap: instruct-form stories, the Words: line swapped between them; the figures
# on stdout and as JSON; a line no document has is refused
"$SLM" data stories --count 40 --seed 3 --instruct --quiet --out "$TMP/ins.txt"
"$SLM" explain swap -q --model "$M" --data "$TMP/ins.txt" --out "$TMP/swap.json" >"$TMP/swap.out"
grep -q "'Words:' line: loss .* the line is worth .* nats a token ([0-9]* documents" "$TMP/swap.out" ||
  { echo "FAIL: explain swap's line"; cat "$TMP/swap.out"; exit 1; }
python3 - "$TMP/swap.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
# A context of 64: a long header leaves a story's start past it (counted, not scored).
assert j["documents"] + j["past_context"] == 40 and j["documents"] >= 20 and j["without_line"] == 0, j
assert j["tokens"] > 0, j
assert abs(j["worth"] - (j["loss_swapped"] - j["loss_written"])) < 1e-12, j
PY
if "$SLM" explain swap -q --model "$M" --data "$TMP/ins.txt" --line "Nothing:" --out "$TMP/no.json" 2>"$TMP/err"; then
  echo "FAIL: explain swap with a line no document has"; exit 1
fi
grep -q "^slm: error: 0 of the 40 documents have a line starting with 'Nothing:'" "$TMP/err" ||
  { echo "FAIL: explain swap's error"; cat "$TMP/err"; exit 1; }
[ ! -e "$TMP/no.json" ] || { echo "FAIL: explain swap left a file behind"; exit 1; }
echo "explain swap: checked"
