#!/usr/bin/env bash
# End-to-end tests of the slm command line: the real binary, its exit codes, its one-line
# errors and its outputs. Usage: cli_test.sh PATH/TO/slm FIXTURES_DIR
source "$(dirname "$0")/../lib/checks.sh"
SLM=$1
FIX=$2

# expect CODE DESCRIPTION -- COMMAND...: runs the command, checks its exit code.
expect() {
  local code=$1 what=$2
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq "$code" ]; then ok; else bad "$what: exit $rc, expected $code"; cat "$TMP/err"; fi
}
# has FILE TEXT: the file contains the text.
has() { if grep -qF -- "$2" "$1"; then ok; else bad "'$2' not in $1:"; head -5 "$1"; fi; }

# --- help and version
expect 0 "--help" -- "$SLM" --help
has "$TMP/out" "data"
expect 0 "--version" -- "$SLM" --version
has "$TMP/out" "slm 0."
for cmd in "data stories" "data import" "data sample"; do
  expect 0 "$cmd --help" -- "$SLM" $cmd --help
  has "$TMP/out" "Examples:"
  has "$TMP/out" "--seed"
done

# --- command-line errors exit 2 with one line
expect 2 "no command" -- "$SLM"
expect 2 "unknown command" -- "$SLM" frobnicate
expect 2 "missing --out" -- "$SLM" data stories --count 3
has "$TMP/err" "slm: error:"
expect 2 "neither --count nor --size" -- "$SLM" data stories --out "$TMP/x.txt"
expect 2 "--count and --size together" -- "$SLM" data stories --count 2 --size 1 --out "$TMP/x.txt"
expect 2 "negative count" -- "$SLM" data stories --count -5 --out "$TMP/x.txt"

# --- stories: text, jsonl, instruct; determinism
expect 0 "stories txt" -- "$SLM" data stories --count 100 --seed 3 --out "$TMP/a.txt"
[ "$(grep -c '^<|endoftext|>$' "$TMP/a.txt")" -eq 100 ] && ok || bad "100 separators in a.txt"
expect 0 "stories txt again" -- "$SLM" data stories --count 100 --seed 3 --threads 1 --out "$TMP/b.txt"
cmp -s "$TMP/a.txt" "$TMP/b.txt" && ok || bad "same seed, same stories (threads 2 vs 1)"
expect 0 "stories other seed" -- "$SLM" data stories --count 100 --seed 4 --out "$TMP/c.txt"
cmp -s "$TMP/a.txt" "$TMP/c.txt" && bad "another seed gave the same stories" || ok
expect 0 "stories jsonl" -- "$SLM" data stories --count 50 --out "$TMP/s.jsonl"
python3 - "$TMP/s.jsonl" <<'PY' && ok || bad "jsonl records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 50
for r in rows:
    assert set(r) >= {"story", "instruction", "summary", "random_sentence", "source"}, r.keys()
    assert len(r["instruction"]["words"]) == 3 and "prompt" in r["instruction"]
PY
expect 0 "stories size" -- "$SLM" data stories --size 0.2 --quiet --out "$TMP/d.txt"
[ "$(stat -c %s "$TMP/d.txt")" -ge 200000 ] && ok || bad "--size 0.2 gives at least 200 kB"
expect 0 "stories instruct" -- "$SLM" data stories --count 5 --instruct --out "$TMP/i.txt"
has "$TMP/i.txt" "Random sentence: "
expect 1 "unwritable output" -- "$SLM" data stories --count 5 --out /nonexistent/dir/x.txt
has "$TMP/err" "slm: error: cannot create file"

# --- import: real formats, counts, errors with file:line, --skip-bad
expect 0 "import" -- "$SLM" data import "$FIX/tinystories.txt" "$FIX/alpaca.json" "$FIX/texts.jsonl" --out "$TMP/imp"
has "$TMP/err" "duplicates 2"
[ -s "$TMP/imp/train.jsonl" ] && ok || bad "train.jsonl written"
expect 0 "import generated jsonl" -- "$SLM" data import "$TMP/s.jsonl" --val-fraction 0.2 --out "$TMP/imp2"
has "$TMP/err" "kept 50"
expect 1 "import bad utf-8" -- "$SLM" data import "$FIX/bad_utf8.txt" --out "$TMP/imp3"
has "$TMP/err" "slm: error: invalid UTF-8"
has "$TMP/err" "bad_utf8.txt:3"
[ ! -e "$TMP/imp3/train.jsonl" ] && ok || bad "no half-written output after an error"
expect 1 "import malformed jsonl" -- "$SLM" data import "$FIX/malformed.jsonl" --out "$TMP/imp4"
has "$TMP/err" "malformed.jsonl:3"
expect 0 "import --skip-bad" -- "$SLM" data import "$FIX/malformed.jsonl" "$FIX/bad_utf8.txt" --skip-bad --out "$TMP/imp5"
has "$TMP/err" "bad 2"
expect 1 "import missing file" -- "$SLM" data import /no/such.txt --out "$TMP/imp6"
has "$TMP/err" "(/no/such.txt)"

# --- sample: pairs from a shard (made with python: llm.c's format)
python3 - "$TMP/t.bin" <<'PY'
import struct, sys
toks = list(range(100))
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<256i", 20240520, 1, len(toks), *([0] * 253)))
    f.write(struct.pack("<%dH" % len(toks), *toks))
PY
expect 0 "sample" -- "$SLM" data sample "$TMP/t.bin" --context 4 --batch 1 --sequential
has "$TMP/out" "input  0 1 2 3"
has "$TMP/out" "target 1 2 3 4"
head -c 500 "$TMP/t.bin" > "$TMP/cut.bin"
expect 1 "sample truncated shard" -- "$SLM" data sample "$TMP/cut.bin"
has "$TMP/err" "shorter than the 1024-byte header"

# --- tokenizer: train, info, encode/decode round trip, pack; bad input
expect 0 "tokenizer train" -- "$SLM" tokenizer train "$TMP/a.txt" --vocab-size 600 --quiet --out "$TMP/tok.json"
expect 0 "tokenizer info" -- "$SLM" tokenizer info --tokenizer "$TMP/tok.json" "$TMP/a.txt"
has "$TMP/out" "vocabulary size  600"
has "$TMP/out" "bytes per token"
printf 'Caf\xc3\xa9 \xf0\x9f\x98\x80 and \xff invalid   spaces\n' >"$TMP/odd.txt"
"$SLM" tokenizer encode --tokenizer "$TMP/tok.json" "$TMP/odd.txt" | "$SLM" tokenizer decode --tokenizer "$TMP/tok.json" >"$TMP/back.txt"
cmp -s "$TMP/odd.txt" "$TMP/back.txt" && ok || bad "encode | decode gives the bytes back"
expect 2 "vocab below 256" -- "$SLM" tokenizer train "$TMP/a.txt" --vocab-size 100 --out "$TMP/t2.json"
expect 1 "vocab below 256 + specials" -- "$SLM" tokenizer train "$TMP/a.txt" --vocab-size 257 --special '<|x|>' --out "$TMP/t2.json"
has "$TMP/err" "(--vocab-size)"
[ ! -e "$TMP/t2.json" ] && ok || bad "nothing written after an error"
expect 1 "empty special" -- "$SLM" tokenizer train "$TMP/a.txt" --special "" --out "$TMP/t2.json"
has "$TMP/err" "special token is empty"
printf '\n\n' >"$TMP/blank.txt"
expect 1 "empty corpus" -- "$SLM" tokenizer train "$TMP/blank.txt" --out "$TMP/t2.json"
has "$TMP/err" "empty"
head -c 2000 "$TMP/tok.json" >"$TMP/cut.json"
expect 1 "truncated tokenizer.json" -- "$SLM" tokenizer info --tokenizer "$TMP/cut.json"
has "$TMP/err" "malformed JSON"
echo '{"model": {"type": "Unigram", "vocab": []}}' >"$TMP/foreign.json"
expect 1 "foreign tokenizer.json" -- "$SLM" tokenizer info --tokenizer "$TMP/foreign.json"
has "$TMP/err" "model.type"
expect 0 "pack" -- "$SLM" data pack "$TMP/imp2" --tokenizer "$TMP/tok.json" --out "$TMP/shards"
[ -s "$TMP/shards/train_000000.bin" ] && [ -s "$TMP/shards/val_000000.bin" ] && ok || bad "train and val shards"
expect 0 "sample packed" -- "$SLM" data sample "$TMP/shards/train_000000.bin" --context 16 --batch 2
expect 1 "pack with a bad tokenizer" -- "$SLM" data pack "$TMP/imp2" --tokenizer "$TMP/foreign.json" --out "$TMP/shards"
[ -s "$TMP/shards/train_000000.bin" ] && ok || bad "the old shards survive a failed pack"

# --- pretrain: a short run
small=(--set model.dim=32 --set model.n_layers=2 --set model.n_heads=2 --set model.n_kv_heads=1
  --set model.hidden_dim=64 --set model.context=256 --set train.batch_size=2 --set train.eval_every=10
  --set train.checkpoint_every=1000 --set train.warmup_steps=2)
expect 0 "pretrain --help" -- "$SLM" pretrain --help
has "$TMP/out" "--resume"
expect 0 "pretrain" -- "$SLM" pretrain --data "$TMP/shards" --out "$TMP/run" "${small[@]}" --max-steps 12 --quiet
[ -s "$TMP/run/model/model.safetensors" ] && [ -s "$TMP/run/loss.svg" ] && [ "$(wc -l <"$TMP/run/metrics.jsonl")" -eq 12 ] \
  && ok || bad "pretrain writes model/, loss.svg and 12 metrics lines"
expect 0 "generate" -- "$SLM" generate --model "$TMP/run/model" --prompt "Once" --max-tokens 10 --temperature 0
expect 2 "pretrain bad --set" -- "$SLM" pretrain --data "$TMP/shards" --out "$TMP/run2" --set nonsense
expect 2 "pretrain unknown field" -- "$SLM" pretrain --data "$TMP/shards" --out "$TMP/run2" --set model.widht=3
has "$TMP/err" "unknown field 'model.widht'"
expect 1 "pretrain model vocab too small" -- "$SLM" pretrain --data "$TMP/shards" --out "$TMP/run2" "${small[@]}" --set model.vocab_size=50
has "$TMP/err" "exceeds the model's"
# Ctrl-C, SIGTERM and --resume: tests/cli/signal_test.sh (it waits for the run's first
# metrics line rather than sleeping).

# --- generate and chat: options, batches, few-shot, q8
M="$TMP/run/model"
for q in none q8; do
  expect 0 "generate --quantize $q" -- "$SLM" generate --model "$M" --prompt "Once" --max-tokens 12 --temperature 0 --quantize $q
  has "$TMP/err" "generated:"
done
expect 0 "generate sampling" -- "$SLM" generate --model "$M" --max-tokens 8 --temperature 0.9 --top-k 20 --top-p 0.9 --min-p 0.05 --repetition-penalty 1.2 --seed 4
cp "$TMP/out" "$TMP/g1"
expect 0 "generate same seed" -- "$SLM" generate --model "$M" --max-tokens 8 --temperature 0.9 --top-k 20 --top-p 0.9 --min-p 0.05 --repetition-penalty 1.2 --seed 4
cmp -s "$TMP/out" "$TMP/g1" && ok || bad "a fixed seed gives the same text"
printf 'Once upon' >"$TMP/prompt.txt"
expect 0 "generate --prompt-file" -- "$SLM" generate --model "$M" --prompt-file "$TMP/prompt.txt" --max-tokens 4
has "$TMP/out" "Once upon"
printf '{"prompt": "Once"}\n{"prompt": "The dog"}\n' >"$TMP/prompts.jsonl"
expect 0 "generate --input/--output" -- "$SLM" generate --model "$M" --input "$TMP/prompts.jsonl" --output "$TMP/gen.jsonl" --max-tokens 6
[ "$(wc -l <"$TMP/gen.jsonl")" -eq 2 ] && grep -q '"completion"' "$TMP/gen.jsonl" && ok || bad "two completions"
printf '{"prompt": 3}\n' >"$TMP/badprompts.jsonl"
expect 1 "generate bad --input" -- "$SLM" generate --model "$M" --input "$TMP/badprompts.jsonl" --output "$TMP/gen2.jsonl"
has "$TMP/err" "badprompts.jsonl:1"
printf '{"input": "a dog", "output": "A DOG"}\n{"input": "a cat", "output": "A CAT"}\n' >"$TMP/shots.jsonl"
expect 0 "generate few-shot" -- "$SLM" generate --model "$M" --shots "$TMP/shots.jsonl" --k 2 --prompt "a ball" --max-tokens 5
has "$TMP/out" "Input: a ball"
expect 1 "few-shot k too large" -- "$SLM" generate --model "$M" --shots "$TMP/shots.jsonl" --k 5 --prompt x
has "$TMP/err" "(--k)"
printf 'hello\n/reset\nwrite a story\n/exit\nnot read\n' | "$SLM" chat --model "$M" --max-tokens 5 >"$TMP/chat.txt" 2>"$TMP/err" && ok || bad "chat with piped input"
[ "$(wc -l <"$TMP/chat.txt")" -eq 2 ] && ok || bad "chat answered two messages, then /exit"
expect 2 "generate bad --quantize" -- "$SLM" generate --model "$M" --quantize q4

# --- instruction data, fine-tuning, instruct evaluation, templated generation
expect 0 "data instruct" -- "$SLM" data instruct --stories 300 --out "$TMP/sft" --quiet
[ -s "$TMP/sft/train.jsonl" ] && [ -s "$TMP/sft/heldout.jsonl" ] && ok || bad "train.jsonl and heldout.jsonl"
expect 2 "data instruct bad --heldout" -- "$SLM" data instruct --stories 10 --heldout 1.5 --out "$TMP/sft2"
has "$TMP/err" "slm: error: --heldout:"
# Short records that fit the small model's context, in all three formats.
for i in 1 2 3 4 5 6; do printf '{"instruction": "Say hi.", "input": "", "output": "Hi! I am %s."}\n' $i; done >"$TMP/alpaca.jsonl"
printf '[{"instruction": "Name a pet.", "input": "", "output": "A cat."}, {"instruction": "Add.", "input": "1 and 2", "output": "3"}]' >"$TMP/alpaca.json"
printf '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}\n' >"$TMP/chat.jsonl"
ft=(--set train.batch_size=2 --set train.eval_every=5 --set train.checkpoint_every=1000)
for f in alpaca.jsonl alpaca.json chat.jsonl; do
  expect 0 "finetune $f" -- "$SLM" finetune --base "$M" --data "$TMP/$f" --out "$TMP/ft_$f" "${ft[@]}" --max-steps 4 --quiet
  [ -s "$TMP/ft_$f/model/prompt_template.json" ] && ok || bad "finetune $f records the template"
done
F="$TMP/ft_alpaca.jsonl/model"
expect 0 "generate with the template" -- "$SLM" generate --model "$F" --prompt "Say hi." --max-tokens 5 --temperature 0
grep -q "### Instruction" "$TMP/out" && bad "the templated prompt is not echoed" || ok
expect 0 "generate --raw" -- "$SLM" generate --model "$F" --prompt "Say hi." --max-tokens 5 --raw
has "$TMP/out" "Say hi."
printf '{"instruction": "Say hi."}\n' >"$TMP/noout.jsonl"
expect 1 "finetune record without output" -- "$SLM" finetune --base "$M" --data "$TMP/noout.jsonl" --out "$TMP/ftx"
has "$TMP/err" "noout.jsonl:1"
has "$TMP/err" "'output'"
mkdir -p "$TMP/notok" && cp "$M/config.json" "$M/model.safetensors" "$TMP/notok/"
expect 1 "finetune base without tokenizer" -- "$SLM" finetune --base "$TMP/notok" --data "$TMP/alpaca.jsonl" --out "$TMP/fty"
has "$TMP/err" "tokenizer.json"
long=$(printf 'the dog ran %.0s' $(seq 1 200))
printf '{"instruction": "Go.", "input": "", "output": "%s"}\n{"instruction": "Hi.", "input": "", "output": "Hi."}\n' "$long" >"$TMP/long.jsonl"
expect 0 "finetune skips long records, counted" -- "$SLM" finetune --base "$M" --data "$TMP/long.jsonl" --out "$TMP/ftl" "${ft[@]}" --max-steps 2 --quiet
has "$TMP/err" "1 record(s) longer than the context"
has "$TMP/err" "skipped"
expect 0 "finetune --truncate" -- "$SLM" finetune --base "$M" --data "$TMP/long.jsonl" --out "$TMP/ftt" "${ft[@]}" --max-steps 2 --truncate --quiet
has "$TMP/err" "truncated"
head -5 "$TMP/sft/heldout.jsonl" >"$TMP/held5.jsonl"
expect 0 "eval instruct" -- "$SLM" eval instruct --model "$F" --base "$M" --data "$TMP/held5.jsonl" --out "$TMP/ei.json" --quiet
has "$TMP/out" "questions: contains the answer"
[ -s "$TMP/ei.json" ] && ok || bad "eval instruct --out"
printf '{"instruction": 1, "output": "x"}\n' >"$TMP/badinst.jsonl"
expect 1 "eval instruct bad record" -- "$SLM" eval instruct --model "$F" --data "$TMP/badinst.jsonl"
has "$TMP/err" "badinst.jsonl:1"

# --- eval: parts alone, bad input
expect 0 "eval loss" -- "$SLM" eval loss --model "$M" --data "$TMP/shards" --out "$TMP/ev" --quiet
has "$TMP/out" "report.html"
printf '{"context": "The sky is", "choices": [" blue", " loud"], "label": 3}\n' >"$TMP/badmc.jsonl"
expect 1 "eval fewshot label outside the choices" -- "$SLM" eval fewshot --model "$M" --tasks "$TMP/badmc.jsonl" --out "$TMP/ev"
has "$TMP/err" "badmc.jsonl:1"
expect 2 "eval judge without a URL" -- "$SLM" eval judge --model "$M" --out "$TMP/ev"
expect 2 "eval bad --k" -- "$SLM" eval fewshot --model "$M" --k 1,x --out "$TMP/ev"
expect 0 "eval judge unreachable: recorded, not fatal" -- "$SLM" eval judge --model "$M" --judge-url http://127.0.0.1:9/v1 --judge-model j --judge-attempts 1 --stories 1 --story-tokens 5 --out "$TMP/evj" --quiet
grep -q '"failed": 1' "$TMP/evj/report.json" && ok || bad "the unreachable judge's stories are recorded as failed"
[ -s "$TMP/evj/judged.jsonl" ] && ok || bad "judged samples kept for human review"

# --- export
expect 0 "export gguf" -- "$SLM" export gguf --model "$F" --out "$TMP/m.gguf"
expect 0 "generate from gguf" -- "$SLM" generate --model "$TMP/m.gguf" --prompt "Say hi." --max-tokens 5 --temperature 0 --quiet
grep -q "Say hi." "$TMP/out" && bad "a tuned model's .gguf carries its template: the prompt is not echoed" || ok
expect 2 "export gguf bad --type" -- "$SLM" export gguf --model "$F" --out "$TMP/x.gguf" --type q4_k
expect 0 "export hf" -- "$SLM" export hf --model "$F" --out "$TMP/hf"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json generation_config.json; do
  [ -s "$TMP/hf/$f" ] && ok || bad "export hf wrote $f"
done
has "$TMP/hf/tokenizer_config.json" "chat_template"
printf 'not gguf' >"$TMP/bad.gguf"
expect 1 "generate from a bad gguf" -- "$SLM" generate --model "$TMP/bad.gguf" --prompt x
has "$TMP/err" "bad.gguf"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
