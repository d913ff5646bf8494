#!/usr/bin/env bash
# `slm eval stories --text FILE` (stories someone wrote, no model) and `--prompts FILE`
# (the user's own beginnings, continued by a small model trained here): each file form is
# detected and said, the report holds the figures, bad files and flags are refused with one
# line naming the file, line or flag, and a refused command leaves no report folder.
# Usage: eval_text_test.sh PATH/TO/slm
set -u
SLM=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks its exit code.
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$T/out" 2>"$T/err"
  local rc=$?
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, expected $code"; cat "$T/err"; fi
}
has() { if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1:"; head -5 "$1"; fi; }
one_error_line() { [ "$(grep -c 'slm: error:' "$T/err")" -eq 1 ] && ok || { bad "not one error line"; cat "$T/err"; }; }
q=(--quiet --threads 2)

# --- --text: three forms, each said on stdout
"$SLM" data stories --count 12 --seed 5 --out "$T/gen.txt" "${q[@]}"
expect 0 "text: <|endoftext|>" -- "$SLM" eval stories --text "$T/gen.txt" --out "$T/e1" "${q[@]}"
has "$T/out" "12 stories, read as text with <|endoftext|> between stories"
python3 - "$T/e1/report.json" <<'PY' && ok || bad "report.json of --text"
import json, sys
m = json.load(open(sys.argv[1]))["models"][0]
s = m["stories"]
assert s["metrics"]["stories"] == 12, s["metrics"]
assert 0 < s["metrics"]["age.child_vocab_share"] <= 1
assert len(s["samples"]) == 12 and "prompt" not in s["samples"][0]
assert s["form"].startswith("text with"), s["form"]
PY
printf 'Tom had a red ball. He liked it.\nThe cat sat on the mat. She was happy.\n' >"$T/lines.txt"
expect 0 "text: one per line" -- "$SLM" eval stories --text "$T/lines.txt" --out "$T/e2" "${q[@]}"
has "$T/out" "2 stories, read as one story per line"
printf '{"text": "A dog ran to the park."}\n{"text": "The sun was hot."}\n{"text": "Mia ate a cake."}\n' >"$T/s.jsonl"
expect 0 "text: JSONL" -- "$SLM" eval stories --text "$T/s.jsonl" --out "$T/e3" "${q[@]}"
has "$T/out" "3 stories, read as JSONL, field 'text'"

# --- --text refused: a bad line, with a model, an empty file; nothing left behind
printf '{"text": "fine"}\n{"title": "no story"}\n' >"$T/bad.jsonl"
expect 1 "text: record without text" -- "$SLM" eval stories --text "$T/bad.jsonl" --out "$T/r1"
has "$T/err" "expected a string field 'text' or 'story' ($T/bad.jsonl:2)"
one_error_line
[ ! -e "$T/r1" ] && ok || bad "a refused --text left $T/r1"
: >"$T/empty.txt"
expect 1 "text: empty file" -- "$SLM" eval stories --text "$T/empty.txt" --out "$T/r2"
has "$T/err" "no stories in the file ($T/empty.txt)"
expect 2 "text with a model" -- "$SLM" eval stories --text "$T/s.jsonl" --model "$T/s.jsonl" --out "$T/r3"
has "$T/err" "--text"
expect 2 "--stories out of range" -- "$SLM" eval stories --text "$T/s.jsonl" --stories 0 --out "$T/r4"
has "$T/err" "--stories"
expect 2 "--judge-concurrency out of range" -- "$SLM" eval --model "$T/s.jsonl" --judge-concurrency 0
has "$T/err" "--judge-concurrency"

# --- --prompts: a small model continues the user's beginnings (YAML and JSONL)
"$SLM" data stories --count 200 --out "$T/c.txt" "${q[@]}"
"$SLM" tokenizer train "$T/c.txt" --vocab-size 300 --out "$T/tok.json" "${q[@]}"
"$SLM" data pack "$T/c.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null
"$SLM" pretrain --config tiny --set model.dim=32 --set model.n_layers=1 --set model.n_heads=2 --set model.n_kv_heads=1 \
  --set model.hidden_dim=64 --set model.context=512 --set train.batch_size=2 --max-steps 3 --data "$T/shards" \
  --out "$T/run" "${q[@]}" >/dev/null
printf -- '# my beginnings\n- Once upon a time, a dog\n- "Tom said: hello"\n' >"$T/b.yaml"
expect 0 "prompts: YAML" -- "$SLM" eval stories --model "$T/run/model" --prompts "$T/b.yaml" --story-tokens 8 --out "$T/p1" "${q[@]}"
python3 - "$T/p1/report.json" <<'PY' && ok || bad "report.json of --prompts"
import json, sys
s = json.load(open(sys.argv[1]))["models"][0]["stories"]
assert [x["prompt"] for x in s["samples"]] == ["Once upon a time, a dog", "Tom said: hello"], s["samples"]
assert all(x["story"].startswith(x["prompt"]) for x in s["samples"])
PY
printf '{"beginning": "The cat"}\n' >"$T/b.jsonl"
expect 0 "prompts: JSONL" -- "$SLM" eval stories --model "$T/run/model" --prompts "$T/b.jsonl" --story-tokens 8 --out "$T/p2" "${q[@]}"
printf -- '- fine\nkey: value\n' >"$T/bad.yaml"
expect 1 "prompts: YAML outside the subset" -- "$SLM" eval stories --model "$T/run/model" --prompts "$T/bad.yaml" --out "$T/p3"
has "$T/err" "($T/bad.yaml:2)"
one_error_line
[ ! -e "$T/p3" ] && ok || bad "a refused --prompts left $T/p3"

# --- eval instruct: the model beside its base, one library call (eval::compare_instruct)
"$SLM" data instruct --stories 40 --out "$T/ins" "${q[@]}"
expect 0 "instruct with --base" -- "$SLM" eval instruct --model "$T/run/model" --base "$T/run/model" \
  --data "$T/ins/heldout.jsonl" --limit 3 --batch 3 --out "$T/ins/scores.json" "${q[@]}"
has "$T/out" "fine-tuned"
python3 - "$T/ins/scores.json" <<'PY' && ok || bad "instruct report with a base"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["base_scores"] == d["scores"], "the same model as its own base scores the same (greedy)"
assert d["base"].endswith("/run/model") and d["samples"]
PY
# --unquote-words: the requests that quote their words are asked without the quote marks
python3 - "$T/ins/train.jsonl" "$T/ins/quoted.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]  # records made the same way, more of them
quoted = [r for r in recs if r.get("words") and all(f'"{w}"' in r["instruction"] for w in r["words"])]
assert len(quoted) >= 2, "the held-out records have quoted writing requests"
open(sys.argv[2], "w").write("".join(json.dumps(r) + "\n" for r in quoted[:2]))
PY
expect 0 "instruct --unquote-words" -- "$SLM" eval instruct --model "$T/run/model" --data "$T/ins/quoted.jsonl" \
  --unquote-words --out "$T/ins/unq.json" --threads 1
has "$T/err" "2 request(s) asked without the quote marks"
python3 - "$T/ins/unq.json" <<'PY' && ok || bad "instruct --unquote-words report"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["unquoted_requests"] == 2, d["unquoted_requests"]
for s in d["samples"]:
    assert s["task"].startswith("write") and "words_used" in s, s
    assert '", "' not in s["instruction"], s["instruction"]
assert d["scores"]["required_words_unquoted"] is not None, d["scores"]
PY
expect 2 "instruct --batch 0" -- "$SLM" eval instruct --model "$T/run/model" --data "$T/ins/heldout.jsonl" --batch 0
has "$T/err" "--batch: Value 0 not in range 1 to 4096"

echo "eval_text_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
