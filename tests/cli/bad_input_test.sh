#!/usr/bin/env bash
# Bad input a new user might give, each refused cleanly: exit 1 (bad data) or 2 (bad command
# line), exactly one "slm: error:" line naming the flag, field or file at fault, and nothing
# new left where the output would have gone. Usage: bad_input_test.sh PATH/TO/slm
source "$(dirname "$0")/../lib/checks.sh"
SLM=$1

# refuse CODE NEEDLE OUT -- COMMAND...: the command exits CODE with one error line that
# contains NEEDLE, and OUT (a path, or - for none) does not exist afterwards.
refuse() {
  local code=$1 needle=$2 out=$3
  shift 4
  "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  local rc=$? what="$*"
  what=${what#"$SLM "}
  [ "$rc" -eq "$code" ] || { bad "$what: exit $rc, expected $code"; cat "$TMP/stderr"; return; }
  [ "$(grep -c '^slm: error: ' "$TMP/stderr")" -eq 1 ] || { bad "$what: not exactly one error line"; cat "$TMP/stderr"; return; }
  grep '^slm: error: ' "$TMP/stderr" | grep -qF -- "$needle" || { bad "$what: error does not name '$needle'"; cat "$TMP/stderr"; return; }
  if [ "$out" != - ] && [ -e "$out" ]; then bad "$what: left $out behind"; return; fi
  ok
}

# --- a tiny corpus, tokenizer, shards and model to be wrong about
"$SLM" data stories --count 300 --seed 2 --quiet --out "$TMP/s.txt" &&
  "$SLM" tokenizer train "$TMP/s.txt" --vocab-size 400 --quiet --out "$TMP/tok.json" &&
  "$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --quiet --out "$TMP/shards" 2>/dev/null &&
  "$SLM" pretrain --data "$TMP/shards" --out "$TMP/run" --set model.dim=32 --set model.n_layers=1 --set model.n_heads=2 \
    --set model.n_kv_heads=1 --set model.hidden_dim=64 --set model.context=64 --set train.batch_size=2 --max-steps 2 \
    --quiet >/dev/null || { echo "FAIL: setup"; exit 1; }
M=$TMP/run/model
O=$TMP/out  # never created by a refused command

# --- numeric flags out of range: exit 2, the flag named
gen=("$SLM" generate --model "$M" --max-tokens 2)
refuse 2 "--temperature" - -- "${gen[@]}" --temperature -1
refuse 2 "--top-p" - -- "${gen[@]}" --top-p 1.5
refuse 2 "--top-p" - -- "${gen[@]}" --top-p 0
refuse 2 "--top-p" - -- "${gen[@]}" --top-p nan
refuse 2 "--min-p" - -- "${gen[@]}" --min-p 2
refuse 2 "--top-k" - -- "${gen[@]}" --top-k -1
refuse 2 "--repetition-penalty" - -- "${gen[@]}" --repetition-penalty 0
refuse 2 "--max-tokens" - -- "$SLM" generate --model "$M" --max-tokens 0
refuse 2 "--k" - -- "${gen[@]}" --k -1
refuse 2 "--threads" - -- "${gen[@]}" --threads -2
refuse 2 "--seed" - -- "${gen[@]}" --seed -1
refuse 2 "--temperature" - -- "$SLM" chat --model "$M" --temperature inf
refuse 2 "--count" "$O.txt" -- "$SLM" data stories --count -1 --out "$O.txt"
refuse 2 "--size" "$O.txt" -- "$SLM" data stories --size 0 --out "$O.txt"
refuse 2 "--quote-words" "$O.txt" -- "$SLM" data stories --count 3 --instruct --quote-words 1.5 --out "$O.txt"
refuse 2 "requires --instruct" "$O.txt" -- "$SLM" data stories --count 3 --quote-words 0.5 --out "$O.txt"
refuse 2 "--requests" "$O.txt" -- "$SLM" data stories --count 3 --instruct --requests -0.1 --out "$O.txt"
refuse 2 "requires --instruct" "$O.txt" -- "$SLM" data stories --count 3 --requests 0.5 --out "$O.txt"
refuse 2 "--val-fraction" "$O" -- "$SLM" data import "$TMP/s.txt" --val-fraction 1 --out "$O"
refuse 2 "--batch" - -- "$SLM" data sample "$TMP/shards/train_000000.bin" --batch 0
refuse 2 "--context" - -- "$SLM" data sample "$TMP/shards/train_000000.bin" --context -8
refuse 2 "--world" - -- "$SLM" data sample "$TMP/shards/train_000000.bin" --world 0
refuse 2 "--rank" - -- "$SLM" data sample "$TMP/shards/train_000000.bin" --rank 2 --world 2
refuse 2 "--shard-tokens" "$O" -- "$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --shard-tokens 0 --out "$O"
refuse 2 "--val-fraction" "$O" -- "$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --val-fraction -0.5 --out "$O"
refuse 2 "--stories" "$O" -- "$SLM" data instruct --stories 0 --out "$O"
refuse 2 "--heldout" "$O" -- "$SLM" data instruct --heldout 1 --out "$O"
refuse 2 "--rouge" "$O" -- "$SLM" data instruct --rouge 1.5 --out "$O"
refuse 2 "--vocab-size" "$O.json" -- "$SLM" tokenizer train "$TMP/s.txt" --vocab-size 10 --out "$O.json"
refuse 2 "--min-frequency" "$O.json" -- "$SLM" tokenizer train "$TMP/s.txt" --min-frequency 0 --out "$O.json"
refuse 2 "--space-merges" "$O.json" -- "$SLM" tokenizer train "$TMP/s.txt" --space-merges 1 --out "$O.json"
refuse 2 "--space-merges" "$O.json" -- "$SLM" tokenizer train "$TMP/s.txt" --space-merges -0.1 --out "$O.json"
refuse 2 "--max-steps" "$O" -- "$SLM" pretrain --data "$TMP/shards" --out "$O" --max-steps -3
refuse 2 "--stop-after" "$O" -- "$SLM" pretrain --data "$TMP/shards" --out "$O" --stop-after 0
refuse 2 "--zero" "$O" -- "$SLM" pretrain --data "$TMP/shards" --out "$O" --zero 2
refuse 2 "--dist-timeout" "$O" -- "$SLM" pretrain --data "$TMP/shards" --out "$O" --dist-timeout 0
refuse 1 "--experts is 1; it must be in [2, 1024]" "$O" -- "$SLM" moe upcycle --model "$M" --experts 1 --out "$O"
refuse 1 "--top-k is 9; it must be in [1, 4]" "$O" -- "$SLM" moe upcycle --model "$M" --experts 4 --top-k 9 --out "$O"
refuse 2 "--epochs" "$O" -- "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --epochs 0
refuse 2 "--eval-limit" "$O" -- "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --eval-limit -1
refuse 2 "--lora" "$O" -- "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --lora 0
refuse 2 "unknown LoRA target 'attn': expected q, k, v, o, gate, up, down" "$O" -- \
  "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --lora 4 --lora-targets q,attn
refuse 2 "--lora-alpha" "$O" -- "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --lora 4 --lora-alpha 0
refuse 2 "--lora-targets requires --lora" "$O" -- "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --lora-targets q
refuse 1 "not a LoRA adapter folder (no adapter_config.json)" "$O" -- "$SLM" lora merge --base "$M" --adapter "$M" --out "$O"

# --- config files: unknown keys at any level (with the nearest name), wrong types
cfg() { printf '%s\n' "$2" >"$TMP/$1.json"; }
cfg top '{"n_layer": "six"}'
cfg model '{"model": {"n_layer": 6}}'
cfg type '{"model": {"n_layers": "six"}}'
cfg train '{"train": {"lrr": 1e-3}}'
cfg big '{"model": {"dim": 1099511627776}}'
cfg range '{"train": {"batch_size": 0}}'
cfg overflow '{"train": {"lr": 1e400}}'
pre=("$SLM" pretrain --data "$TMP/shards" --out "$O")
refuse 1 "did you mean 'model.n_layers'" "$O" -- "${pre[@]}" --config "$TMP/top.json"
refuse 1 "unknown field 'model.n_layer'; did you mean 'model.n_layers'" "$O" -- "${pre[@]}" --config "$TMP/model.json"
refuse 1 "'model.n_layers' must be an integer" "$O" -- "${pre[@]}" --config "$TMP/type.json"
refuse 1 "unknown field 'train.lrr'; did you mean 'train.lr'" "$O" -- "${pre[@]}" --config "$TMP/train.json"
refuse 1 "'model.dim' is 1099511627776" "$O" -- "${pre[@]}" --config "$TMP/big.json"
refuse 1 "train.batch_size" "$O" -- "${pre[@]}" --config "$TMP/range.json"
refuse 1 "overflow.json" "$O" -- "${pre[@]}" --config "$TMP/overflow.json"
refuse 1 "train.batch_size must be in" "$O" -- "${pre[@]}" --set train.batch_size=1000000
refuse 1 "no such config file or preset" "$O" -- "${pre[@]}" --config tinny
refuse 2 "unknown field 'train.warmup'; did you mean 'train.warmup_steps'" "$O" -- "${pre[@]}" --set train.warmup=3
refuse 2 "'train.lr' must be a number" "$O" -- "${pre[@]}" --set train.lr=fast
refuse 2 "did you mean 'model'" "$O" -- "${pre[@]}" --set modle.dim=64
refuse 1 "a fine-tuning config has no 'model' section" "$O" -- \
  "$SLM" finetune --base "$M" --data "$TMP/s.txt" --out "$O" --config "$TMP/model.json"

# --- model folders whose config.json is wrong, or disagrees with its tensors
# broken NEEDLE PYTHON: a copy of the model with config.json edited by PYTHON (j is the
# JSON); generate and export refuse it naming NEEDLE, and export leaves nothing behind.
broken() {
  rm -rf "$TMP/m2"
  cp -r "$M" "$TMP/m2"
  python3 - "$TMP/m2/config.json" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(j, open(sys.argv[1], "w"))
PY
  refuse 1 "$1" - -- "$SLM" generate --model "$TMP/m2" --max-tokens 2
  refuse 1 "$1" "$O" -- "$SLM" export hf --model "$TMP/m2" --out "$O"
  refuse 1 "$1" "$O.gguf" -- "$SLM" export gguf --model "$TMP/m2" --out "$O.gguf"
}
broken "missing tensor 'model.layers.1.input_layernorm.weight'" "j['num_hidden_layers'] = 2"
broken "tensor 'model.embed_tokens.weight' has shape [400, 32], config.json implies [400, 64]" \
  "j['hidden_size'] = 64; j['head_dim'] = 32"
broken "missing tensor 'lm_head.weight'" "j['tie_word_embeddings'] = False"
broken "field 'hidden_size' is 1099511627776" "j['hidden_size'] = 2**40"
broken "missing field 'intermediate_size'" "del j['intermediate_size']"
broken "field 'num_hidden_layers' must be an integer" "j['num_hidden_layers'] = 'one'"
broken "vocab_size must be in" "j['vocab_size'] = -400"
broken "config.json's slm.n_layers is 3 but num_hidden_layers is 1" \
  "j['slm'] = dict(vocab_size=400, dim=32, n_layers=3, n_heads=2, n_kv_heads=1, hidden_dim=64, context=64)"
broken "field 'hidden_act'" "j['hidden_act'] = 'gelu'"
# An older folder whose slm section agrees with the Hugging Face fields still loads.
python3 - "$TMP/m2/config.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["hidden_act"] = "silu"
j["slm"] = dict(vocab_size=400, dim=32, n_layers=1, n_heads=2, n_kv_heads=1, hidden_dim=64, context=64, norm_eps=1e-5,
                rope_theta=10000.0, tie_embeddings=True)
json.dump(j, open(sys.argv[1], "w"))
PY
"$SLM" generate --model "$TMP/m2" --max-tokens 2 --quiet >/dev/null 2>"$TMP/stderr" && ok || { bad "an agreeing slm section"; cat "$TMP/stderr"; }

# --- failed commands leave no new file or folder
printf '{"text": 5' >"$TMP/bad.json"
refuse 1 "bad.json:1" "$O" -- "$SLM" data import "$TMP/bad.json" --out "$O"
refuse 1 "bad.json:1" "$O" -- "$SLM" data import "$TMP/bad.json" --out "$O/new/parents"
: >"$TMP/empty.txt"
refuse 1 "the corpus is empty" "$O.json" -- "$SLM" tokenizer train "$TMP/empty.txt" --out "$O.json"
refuse 1 "empty.txt" "$O.json" -- "$SLM" tokenizer train "$TMP/empty.txt" --out "$O.json"
printf '{"prompt": "Once"}\n{"prompt": 3}\n' >"$TMP/prompts.jsonl"
refuse 1 "prompts.jsonl:2" "$O.jsonl" -- "$SLM" generate --model "$M" --input "$TMP/prompts.jsonl" --output "$O.jsonl"
refuse 1 "no train_*.bin shards" "$O" -- "$SLM" pretrain --data "$TMP" --out "$O"
# A bad --eval file fails before the fine-tuning run, not after it.
printf '{"instruction": "Say hi.", "input": "", "output": "hi"}\n' >"$TMP/sft.jsonl"
printf '{"instruction": 3}\n' >"$TMP/eval.jsonl"
refuse 1 "eval.jsonl:1" "$O" -- "$SLM" finetune --base "$M" --data "$TMP/sft.jsonl" --eval "$TMP/eval.jsonl" --out "$O"
# LoRA freezes the embedding that train.share_space_embeddings would train.
refuse 1 "train.share_space_embeddings" "$O" -- \
  "$SLM" finetune --base "$M" --data "$TMP/sft.jsonl" --out "$O" --lora 4 --set train.share_space_embeddings=true
# The training flags every training command shares (cli/train_flags): the same checks everywhere.
for cmd in "pretrain --data $TMP/shards" "distill --teacher $M --student tiny --data $TMP/shards" \
           "align grpo --base $M --prompts $TMP/sft.jsonl"; do
  refuse 2 "--dtype" "$O" -- "$SLM" $cmd --out "$O" --dtype fp16
  refuse 2 "--max-steps" "$O" -- "$SLM" $cmd --out "$O" --max-steps 0
  refuse 2 "--set" "$O" -- "$SLM" $cmd --out "$O" --set train.lr
done
# A ratings database that is not one, or is missing: named, and no export folder made.
printf 'not a database\n' >"$TMP/ratings.db"
refuse 1 "ratings.db" - -- "$SLM" feedback stats --db "$TMP/ratings.db"
refuse 1 "ratings.db" "$O" -- "$SLM" feedback export --db "$TMP/ratings.db" --out "$O"
refuse 2 "--db" - -- "$SLM" feedback stats --db "$TMP/no-such.db"
# slm explain: a model that is not there or not a model, a subject not in the prompt, an
# answer of several tokens, counterfactuals of another length, a bad prompt file.
ex=("$SLM" explain trace --model "$M" --out "$O" --samples 2)
refuse 2 "--model" "$O" -- "$SLM" explain trace --model "$TMP/no-such-model" --prompt "Once" --out "$O"
refuse 1 "config.json" "$O" -- "$SLM" explain lens --model "$TMP/shards" --prompt "Once" --out "$O"
refuse 1 "the subject 'Lily' is not in the prompt" "$O" -- "${ex[@]}" --prompt "Once upon a time" --subject "Lily"
refuse 1 "--first-token" "$O" -- "${ex[@]}" --prompt "Once upon a time" --subject "Once" --answer " zzqxzzqx"
refuse 1 "--prompt or --prompts" "$O" -- "${ex[@]}"
refuse 2 "--noise" "$O" -- "${ex[@]}" --prompt "Once" --noise 0
printf '{"prompt": "Once upon a time", "subject": "Once"}\n{"prompt": "Once", "subject": 3}\n' >"$TMP/trace.jsonl"
refuse 1 "trace.jsonl:2" "$O" -- "${ex[@]}" --prompts "$TMP/trace.jsonl"
refuse 1 "same number of tokens" "$O" -- "$SLM" explain patch --model "$M" --prompt "Once upon a time" \
  --counterfactual "Once upon a time there was" --out "$O"
# explain's and eval's prompt files: a misspelt key is named with the nearest one, not ignored.
printf '{"prompt": "Once upon a time", "subjct": "Once"}\n' >"$TMP/subjct.jsonl"
refuse 1 "unknown field 'subjct'; did you mean 'subject'" "$O" -- "${ex[@]}" --prompts "$TMP/subjct.jsonl"
printf '{"promt": "Once upon a time"}\n' >"$TMP/promt.jsonl"
refuse 1 "unknown field 'promt'; did you mean 'prompt'" "$O" -- "$SLM" eval stories --model "$M" --prompts "$TMP/promt.jsonl" --out "$O"
# Flags added with the later commands: the same range checks.
refuse 2 "--router-std" "$O" -- "$SLM" moe upcycle --model "$M" --router-std -1 --out "$O"
refuse 2 "--router-std" "$O" -- "$SLM" moe upcycle --model "$M" --router-std nan --out "$O"
refuse 2 "--seed" "$O" -- "$SLM" moe upcycle --model "$M" --seed -1 --out "$O"
refuse 2 "--seed" - -- "$SLM" feedback stats --db "$TMP/ratings.db" --seed -1
# LoRA adapters whose adapter_config.json asks for what slm's LoRA does not compute (their
# base has room for Alpaca's prompt).
M256=$TMP/run256/model
"$SLM" pretrain --data "$TMP/shards" --out "$TMP/run256" --set model.dim=32 --set model.n_layers=1 --set model.n_heads=2 \
  --set model.n_kv_heads=1 --set model.hidden_dim=64 --set model.context=256 --set train.batch_size=2 --max-steps 1 \
  --quiet >/dev/null &&
  "$SLM" finetune --base "$M256" --data "$TMP/sft.jsonl" --val "$TMP/sft.jsonl" --lora 2 --max-steps 1 \
    --out "$TMP/lora" --quiet >/dev/null || bad "setup: a LoRA adapter"
adapter() {  # adapter NEEDLE PYTHON: a copy of the adapter with adapter_config.json edited; merge refuses it
  rm -rf "$TMP/a2"
  cp -r "$TMP/lora/model" "$TMP/a2"
  python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); exec(sys.argv[2]); json.dump(j, open(sys.argv[1], "w"))' \
    "$TMP/a2/adapter_config.json" "$2"
  refuse 1 "$1" "$O" -- "$SLM" lora merge --base "$M256" --adapter "$TMP/a2" --out "$O"
}
adapter "fan_in_fan_out is true" "j['fan_in_fan_out'] = True"
adapter "bias is \"all\"" "j['bias'] = 'all'"
adapter "modules_to_save is" "j['modules_to_save'] = ['lm_head']"
adapter "layers_to_transform is" "j['layers_to_transform'] = [0]"
adapter "r is \"eight\"" "j['r'] = 'eight'"
adapter "r is 1099511627776" "j['r'] = 2**40"
adapter "lora_alpha is" "j['lora_alpha'] = None"
adapter "unknown LoRA target 'mlp'" "j['target_modules'] = ['q_proj', 'mlp']"
refuse 1 "ZeRO-1" "$O" -- "$SLM" finetune --base "$M256" --data "$TMP/sft.jsonl" --lora 2 --zero 1 --out "$O"
# --words-weight needs records with required words used in their outputs, and a positive weight.
refuse 1 "no record has required words" "$O" -- "$SLM" finetune --base "$M256" --data "$TMP/sft.jsonl" --words-weight 5 --out "$O"
refuse 2 "--words-weight" "$O" -- "$SLM" finetune --base "$M256" --data "$TMP/sft.jsonl" --words-weight 0 --out "$O"
refuse 1 "--words-weight" "$O" -- "$SLM" distill --teacher "$M256" --student tiny --data "$TMP/shards" --words-weight 5 --out "$O"
refuse 2 "--loss" "$O" -- "$SLM" distill --teacher "$M256" --student tiny --data "$TMP/shards" --loss token --out "$O"
refuse 2 "--truncate" "$O" -- "$SLM" distill --teacher "$M256" --student tiny --data "$TMP/shards" --truncate --out "$O"
# Nothing half-written anywhere: no temporary files or folders beside the outputs.
# --- slm scaling: a bad sweep.json names the key; bad flags name the flag; nothing is made
sw='{"sizes": [{"dim": 32, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "hidden_dim": 64}, {"dim": 48, "n_layers": 1, "n_heads": 2, "n_kv_heads": 2, "hidden_dim": 64}], "tokens": [4096]'
echo "$sw, \"sizs\": 1}" >"$TMP/sweep_key.json"
echo "$sw, \"eval\": {\"ks\": [0, 99]}}" >"$TMP/sweep_ks.json"
echo "$sw, \"flops\": [1e9]}" >"$TMP/sweep_both.json"
echo "$sw, \"min_steps\": 1}" >"$TMP/sweep_ok.json"
refuse 1 "unknown field 'sweep.sizs'; did you mean 'sweep.sizes'?" "$O" -- "$SLM" scaling sweep --config "$TMP/sweep_key.json" --data "$TMP/shards" --out "$O"
refuse 1 "'eval.ks' must hold shot counts in [0, 64]" "$O" -- "$SLM" scaling sweep --config "$TMP/sweep_ks.json" --data "$TMP/shards" --out "$O"
refuse 1 "exactly one of 'tokens'" "$O" -- "$SLM" scaling sweep --config "$TMP/sweep_both.json" --data "$TMP/shards" --out "$O"
refuse 1 "no point or size named 'nosuch'" "$O" -- "$SLM" scaling sweep --config "$TMP/sweep_ok.json" --data "$TMP/shards" --out "$O" --only nosuch
refuse 2 "--jobs" "$O" -- "$SLM" scaling sweep --config "$TMP/sweep_ok.json" --data "$TMP/shards" --out "$O" --jobs 0
refuse 2 "--pairs" - -- "$SLM" scaling abilities --model "$M" --pairs -1
refuse 2 "--bootstrap" - -- "$SLM" scaling fit "$TMP" --bootstrap -1
refuse 1 "no finished sweep points" - -- "$SLM" scaling fit "$TMP"
leftovers=$(find "$TMP" -name '*.tmp-*' -o -name '*.old-*')
[ -z "$leftovers" ] && ok || bad "temporary files left: $leftovers"

echo "bad input: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
