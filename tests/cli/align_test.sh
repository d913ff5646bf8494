#!/usr/bin/env bash
# slm align end to end on a tiny model: GRPO and DPO runs write their run folders and
# metrics; preference pairs come from the rule rewards; rejection-sampled records train; bad preference records and reward
# configs are refused with the file:line or field and leave no run folder behind.
# Usage: align_test.sh PATH/TO/slm
set -u
SLM=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# refuse CODE NEEDLE -- COMMAND...: exit CODE, one error line containing NEEDLE, no $TMP/out.
refuse() {
  local code=$1 needle=$2
  shift 3
  "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  local rc=$?
  [ "$rc" -eq "$code" ] || { bad "$*: exit $rc, expected $code"; cat "$TMP/stderr"; return; }
  [ "$(grep -c '^slm: error: ' "$TMP/stderr")" -eq 1 ] || { bad "$*: not one error line"; cat "$TMP/stderr"; return; }
  grep '^slm: error: ' "$TMP/stderr" | grep -qF -- "$needle" || { bad "$*: error does not name '$needle'"; cat "$TMP/stderr"; return; }
  [ -e "$TMP/out" ] && bad "$*: left $TMP/out behind"
}

"$SLM" data stories --count 300 --seed 2 --quiet --out "$TMP/s.txt" &&
  "$SLM" tokenizer train "$TMP/s.txt" --vocab-size 400 --quiet --out "$TMP/tok.json" &&
  "$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok.json" --quiet --out "$TMP/shards" 2>/dev/null &&
  "$SLM" pretrain --data "$TMP/shards" --out "$TMP/run" --set model.dim=32 --set model.n_layers=1 --set model.n_heads=2 \
    --set model.n_kv_heads=1 --set model.hidden_dim=64 --set model.context=512 --set train.batch_size=1 --max-steps 2 \
    --quiet >/dev/null &&
  "$SLM" data instruct --stories 40 --seed 3 --quiet --out "$TMP/sft" >/dev/null || { echo "FAIL: setup"; exit 1; }
M=$TMP/run/model

# --- GRPO: a short run with its figures, samples and the before/after tables; Dr. GRPO's
# unscaled advantages, DAPO's dynamic sampling on the words and answer rules, and the
# required words' own credit, and PPO-ptx's pre-training mix
"$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words,main_character --group 4 \
  --max-tokens 24 --max-steps 3 --eval "$TMP/sft/heldout.jsonl" --eval-limit 4 --eval-stories 2 --threads 2 \
  --scale-rewards none --filter-groups 0 --filter-rules words,answer --max-rounds 2 \
  --word-credit 0.1 --flaw-debit 0.05 --ptx-data "$TMP/shards" --ptx-coef 0.5 --ptx-batch 2 --ptx-context 64 \
  --story-share 0.2 --out "$TMP/grpo" >"$TMP/grpo.out" 2>"$TMP/grpo.err" || { bad "grpo run"; cat "$TMP/grpo.err"; }
[ "$(cat "$TMP/grpo.out")" = "$TMP/grpo/model" ] || bad "grpo prints its model folder"
for f in model/config.json model/prompt_template.json metrics.jsonl samples.jsonl reward.svg loss.svg eval/instruct.json eval/report.html; do
  [ -s "$TMP/grpo/$f" ] || bad "grpo wrote no $f"
done
python3 - "$TMP/grpo/metrics.jsonl" <<'PY' || bad "grpo metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3, rows
keys = set().union(*rows)
# (questions carry their story: with this tiny tokenizer few fit the context, so reward.answer may not show)
for k in ("reward", "reward.words", "reward.length", "kl", "completion_tokens", "clip_fraction", "groups_passed",
          "sample_rounds", "credited_tokens", "ptx_loss", "debited_tokens", "flaws.misspelled", "flaws.doubled",
          "flaws.loop"):
    assert k in keys, k
assert rows[0]["kl"] == 0.0, rows[0]["kl"]
assert all(1 <= r["sample_rounds"] <= 2 and 0 <= r["groups_passed"] <= 1 for r in rows), rows
samples = [json.loads(l) for l in open(sys.argv[1].replace("metrics.jsonl", "samples.jsonl"))]
assert samples and all(isinstance(s["credited"], list) and isinstance(s["debited"], list) for s in samples), samples[:1]
PY
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); g=j["grpo"]; assert g["scale_rewards"] == "none" and g["filter_rules"] == ["words", "answer"] and g["word_credit"] == 0.1 and g["flaw_debit"] == 0.05 and g["story_share"] == 0.2, g; p=j["ptx"]; assert p["coef"] == 0.5 and p["batch"] == 2 and p["context"] == 64, p' \
  "$TMP/grpo/run.json" || bad "grpo run.json records its sampling and ptx settings"
grep -q "required words used" "$TMP/grpo.err" || bad "grpo shows the before/after table"
# the KL mix: the windows keep the teacher's distribution (0 at step 1: the policy is the teacher)
"$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --group 2 --max-tokens 16 \
  --max-steps 2 --threads 2 --quiet --ptx-data "$TMP/shards" --ptx-loss kl --ptx-teacher "$M" --ptx-batch 2 \
  --ptx-context 32 --out "$TMP/grpo-kl" >/dev/null 2>"$TMP/grpo-kl.err" || { bad "grpo --ptx-loss kl"; cat "$TMP/grpo-kl.err"; }
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]+"/metrics.jsonl")]; assert len(rows) == 2 and rows[0]["ptx_loss"] == 0.0, rows; p=json.load(open(sys.argv[1]+"/run.json"))["ptx"]; assert p["loss"] == "kl" and p["teacher"].endswith("/run/model"), p' \
  "$TMP/grpo-kl" || bad "grpo --ptx-loss kl: its metrics and run.json"

# --- preference pairs ranked by the rule rewards, then DPO on them
"$SLM" align preferences --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --group 3 --max-tokens 24 \
  --limit 6 --min-gap 0 --out "$TMP/prefs.jsonl" --quiet >/dev/null 2>"$TMP/pref.err" || { bad "preferences"; cat "$TMP/pref.err"; }
[ "$(wc -l <"$TMP/prefs.jsonl")" -ge 1 ] || bad "no preference pairs"
"$SLM" align dpo --base "$M" --data "$TMP/prefs.jsonl" --max-steps 2 --set train.batch_size=2 --eval-stories 0 \
  --out "$TMP/dpo" --quiet >/dev/null 2>"$TMP/dpo.err" || { bad "dpo run"; cat "$TMP/dpo.err"; }
python3 - "$TMP/dpo/metrics.jsonl" <<'PY' || bad "dpo metrics"
import json, sys, math
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 2
for k in ("loss", "margin", "accuracy", "reward_chosen", "reward_rejected"):
    assert k in rows[0], k
assert abs(rows[0]["loss"] - math.log(2)) < 1e-4, rows[0]["loss"]  # the policy is the reference at step 1
PY

# --- self-play pairs (--chosen reference): the record's own answer over the model's worst of
# one sample, then DPO with the RPO term logging the chosen response's NLL (the records'
# stories cut to their first sentence, to fit the test model's context)
python3 - "$TMP/sft/train.jsonl" >"$TMP/short.jsonl" <<'PY'
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["task"] == "write_words":
        r["output"] = r["output"].split(". ")[0] + "."
        print(json.dumps(r))
PY
"$SLM" align preferences --model "$M" --prompts "$TMP/short.jsonl" --tasks write_words --group 1 --chosen reference \
  --max-tokens 24 --limit 4 --min-gap 0 --out "$TMP/prefs-ref.jsonl" --quiet >/dev/null 2>"$TMP/prefr.err" ||
  { bad "preferences --chosen reference"; cat "$TMP/prefr.err"; }
python3 - "$TMP/prefs-ref.jsonl" "$TMP/short.jsonl" <<'PY' || bad "--chosen reference pairs hold the records' outputs"
import json, sys
pairs = [json.loads(l) for l in open(sys.argv[1])]
outputs = {r["instruction"]: r["output"] for r in map(json.loads, open(sys.argv[2]))}  # the short ones
assert len(pairs) == 4, len(pairs)
for p in pairs:
    assert p["chosen_from"] == "reference" and p["chosen"] == outputs[p["prompt"]], p
    assert p["chosen_reward"] >= p["rejected_reward"], p  # --min-gap 0
PY
"$SLM" align dpo --base "$M" --data "$TMP/prefs-ref.jsonl" --max-steps 2 --set train.batch_size=2 --eval-stories 0 \
  --nll-weight 1 --val-data "$TMP/prefs-ref.jsonl" --set train.eval_every=1 --out "$TMP/rpo" --quiet >/dev/null \
  2>"$TMP/rpo.err" || { bad "dpo --nll-weight run"; cat "$TMP/rpo.err"; }
python3 - "$TMP/rpo/metrics.jsonl" "$TMP/rpo/run.json" <<'PY' || bad "dpo --nll-weight: loss = log 2 + chosen NLL at step 1; held-out pairs"
import json, sys, math
rows = [json.loads(l) for l in open(sys.argv[1])]
r = rows[0]
assert r["chosen_nll"] > 0 and abs(r["loss"] - (math.log(2) + r["chosen_nll"])) < 1e-3, r
# --val-data: the held-out pairs' DPO loss, accuracy and margin after each step
assert all("val_loss" in x and 0 <= x["val_accuracy"] <= 1 and "val_margin" in x and 0 <= x["val_likelier"] <= 1
           for x in rows), rows
info = json.load(open(sys.argv[2]))
assert info["val_pairs"] == 4 and 0 <= info["val_reference_accuracy"] <= 1, info
assert json.load(open(sys.argv[2]))["dpo"]["nll_weight"] == 1, "run.json records the weight"
PY
# minimal pairs: the reference over itself with its required words swapped (no model runs)
"$SLM" align preferences --prompts "$TMP/sft/train.jsonl" --tasks write_words --chosen reference --rejected swap-words \
  --limit 5 --out "$TMP/prefs-swap.jsonl" --quiet >/dev/null 2>"$TMP/prefs.err" || { bad "--rejected swap-words"; cat "$TMP/prefs.err"; }
python3 - "$TMP/prefs-swap.jsonl" <<'PY' || bad "--rejected swap-words pairs differ in the required words only"
import json, sys
pairs = [json.loads(l) for l in open(sys.argv[1])]
assert len(pairs) == 5, len(pairs)
for p in pairs:
    c, r = p["chosen"].split(), p["rejected"].split()
    assert len(c) >= len(r) - 3 and c != r and p["chosen_reward"] > p["rejected_reward"], p
PY
# on-policy minimal pairs: the model's completion with the required words put in
"$SLM" align preferences --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --chosen edited --group 1 \
  --max-tokens 64 --temperature 0.5 --limit 16 --min-gap 0 --out "$TMP/prefs-edit.jsonl" --quiet >/dev/null 2>"$TMP/prefs.err" ||
  { bad "--chosen edited"; cat "$TMP/prefs.err"; }
python3 - "$TMP/prefs-edit.jsonl" <<'PY' || bad "--chosen edited pairs"
import json, sys
pairs = [json.loads(l) for l in open(sys.argv[1])]
assert len(pairs) >= 2, len(pairs)  # 6 of the 16 requests on this machine: the others have no word of the kinds
for p in pairs:
    assert p["chosen_from"] == "edited" and p["chosen"] != p["rejected"] and p["chosen_reward"] >= p["rejected_reward"], p
PY
# --first-uses: partial pairs, each response a beginning of the other's length or so
"$SLM" align preferences --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --chosen edited --first-uses \
  --group 1 --max-tokens 64 --temperature 0.5 --limit 16 --min-gap 0 --out "$TMP/prefs-first.jsonl" --quiet >/dev/null 2>"$TMP/prefs.err" ||
  { bad "--first-uses"; cat "$TMP/prefs.err"; }
python3 - "$TMP/prefs-first.jsonl" "$TMP/prefs-edit.jsonl" <<'PY' || bad "--first-uses pairs are partial beginnings"
import json, sys
first = [json.loads(l) for l in open(sys.argv[1])]
whole = {p["prompt"]: p for p in map(json.loads, open(sys.argv[2]))}
assert len(first) == len(whole) and len(first) >= 1, (len(first), len(whole))
for p in first:
    w = whole[p["prompt"]]
    assert p["partial"] is True and w["rejected"].startswith(p["rejected"]) and len(p["rejected"]) <= len(w["rejected"]), p
PY
refuse 1 "--first-uses" -- "$SLM" align preferences --model "$M" --prompts "$TMP/sft/train.jsonl" --first-uses --out "$TMP/out.jsonl"
refuse 1 "--rejected" -- "$SLM" align preferences --prompts "$TMP/sft/train.jsonl" --rejected swap-words --out "$TMP/out.jsonl"
refuse 1 "--model" -- "$SLM" align preferences --prompts "$TMP/sft/train.jsonl" --chosen reference --out "$TMP/out.jsonl"
refuse 1 "--group" -- "$SLM" align preferences --model "$M" --prompts "$TMP/sft/train.jsonl" --group 1 --out "$TMP/out.jsonl"
refuse 2 "--nll-weight" -- "$SLM" align dpo --base "$M" --data "$TMP/prefs.jsonl" --nll-weight -1 --out "$TMP/out"

# --- rejection-sampled data: with no check every request keeps --keep distinct samples,
# written as instruction records that slm finetune trains on; the default checks (every
# required word, its own end, no flawed word) keep only what passes, here little or nothing
"$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --group 3 --keep 2 --batch 2 \
  --max-tokens 24 --limit 5 --require "" --allow-flaws --threads 2 --out "$TMP/rft.jsonl" >/dev/null 2>"$TMP/rft.err" ||
  { bad "rft run"; cat "$TMP/rft.err"; }
python3 - "$TMP/rft.jsonl" <<'PY' || bad "rft records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 10, len(rows)  # 5 requests x 2 kept
for r in rows:
    assert r["task"] == "write_words" and r["sampled"] is True and r["words"] and r["output"].strip(), r
    assert 0 <= r["reward"] <= 1, r
pairs = {}
for r in rows: pairs.setdefault(r["instruction"], []).append(r)
assert all(len(v) == 2 and v[0]["output"] != v[1]["output"] and v[0]["reward"] >= v[1]["reward"] for v in pairs.values()), pairs
PY
grep -q "10 records kept from 15 samples of 5 requests" "$TMP/rft.err" || { bad "rft says what it kept"; cat "$TMP/rft.err"; }
# each thread decodes batches of its own: the same records on one thread
"$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --group 3 --keep 2 --batch 2 \
  --max-tokens 24 --limit 5 --require "" --allow-flaws --threads 1 --quiet --out "$TMP/rft1.jsonl" >/dev/null 2>&1 &&
  cmp -s "$TMP/rft.jsonl" "$TMP/rft1.jsonl" || bad "rft on one thread wrote other records than on two"
"$SLM" finetune --base "$M" --data "$TMP/rft.jsonl" --max-steps 1 --quiet --out "$TMP/rft-ft" >/dev/null 2>&1 ||
  bad "slm finetune reads rft's records"
"$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --group 2 --max-tokens 24 --limit 3 \
  --threads 2 --out "$TMP/rft-strict.jsonl" >/dev/null 2>"$TMP/rfts.err" || { bad "rft with the default checks"; cat "$TMP/rfts.err"; }
grep -q "failed: .*words 6" "$TMP/rfts.err" || { bad "rft counts the samples without the required words"; cat "$TMP/rfts.err"; }
[ -f "$TMP/rft-strict.jsonl" ] || bad "rft writes its file even when nothing passes"
# the word guide at its largest bonus writes every word the unguided run missed (words 6
# above) into every sample (the words rule may still refuse one, which asks for a sentence)
"$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --tasks write_words --group 2 --max-tokens 24 --limit 3 \
  --require "" --allow-flaws --guide 100 --threads 2 --out "$TMP/rft-guided.jsonl" >/dev/null 2>"$TMP/rftg.err" ||
  { bad "rft --guide"; cat "$TMP/rftg.err"; }
python3 - "$TMP/rft-guided.jsonl" <<'PY' || bad "rft --guide records"
import json, re, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 3, len(rows)
for r in rows:
    assert r["guide"] == [100, 200], r  # start, next (2 x start)
    for w in r["words"]: assert re.search(r"\b" + re.escape(w), r["output"], re.I), (w, r["output"])
PY
refuse 2 "--guide" -- "$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --guide 101 --out "$TMP/out"
# a request whose prompt leaves no room for an answer is left out and counted, not an error
python3 - "$TMP/sft/train.jsonl" "$TMP/long.jsonl" "$TMP/longonly.jsonl" <<'PY'
import json, sys
r = next(json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["task"] == "write_words")
long = dict(r, instruction=r["instruction"] + " Please make it good." * 200)
open(sys.argv[2], "w").write(json.dumps(r) + "\n" + json.dumps(long) + "\n")
open(sys.argv[3], "w").write(json.dumps(long) + "\n")
PY
"$SLM" align rft --model "$M" --prompts "$TMP/long.jsonl" --group 2 --max-tokens 8 --require "" --allow-flaws --threads 2 \
  --out "$TMP/rft-long.jsonl" >/dev/null 2>"$TMP/rftl.err" || { bad "rft with an over-long request"; cat "$TMP/rftl.err"; }
grep -q "1 of 2 requests left out" "$TMP/rftl.err" && [ "$(wc -l <"$TMP/rft-long.jsonl")" -eq 1 ] ||
  { bad "rft leaves the over-long request out and keeps the other"; cat "$TMP/rftl.err"; }
refuse 1 "no request leaves room" -- "$SLM" align rft --model "$M" --prompts "$TMP/longonly.jsonl" --out "$TMP/out"
refuse 1 "unknown reward rule 'wrods'" -- "$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --require wrods --out "$TMP/out"
refuse 1 "--keep" -- "$SLM" align rft --model "$M" --prompts "$TMP/sft/train.jsonl" --group 2 --keep 3 --out "$TMP/out"

# --- DPO with LoRA: the reference is the base without adapters, model/ a PEFT folder that
# slm lora merge folds in; --lora-dropout is written into its config
"$SLM" align dpo --base "$M" --data "$TMP/prefs.jsonl" --max-steps 2 --set train.batch_size=2 --eval-stories 0 \
  --lora 4 --lora-dropout 0.1 --out "$TMP/dpo-lora" >/dev/null 2>"$TMP/dpol.err" || { bad "dpo --lora run"; cat "$TMP/dpol.err"; }
grep -q "no second copy of the weights" "$TMP/dpol.err" || bad "dpo --lora says the memory it saves"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); assert c["r"] == 4 and c["lora_dropout"] == 0.1, c' \
  "$TMP/dpo-lora/model/adapter_config.json" || bad "dpo --lora adapter config"
"$SLM" lora merge --base "$M" --adapter "$TMP/dpo-lora/model" --out "$TMP/dpo-merged" >/dev/null 2>&1 &&
  [ -s "$TMP/dpo-merged/model.safetensors" ] || bad "slm lora merge of the DPO adapter"
# --- slm merge: the base plus weighted changes; weight 1 is the model itself, and so are
# two halves of it; half of it is a model the other commands run
"$SLM" merge --base "$M" --add 1 "$TMP/dpo-merged" --out "$TMP/merge1" >/dev/null 2>&1 &&
  cmp -s "$TMP/merge1/model.safetensors" "$TMP/dpo-merged/model.safetensors" || bad "slm merge --add 1 is the model"
"$SLM" merge --base "$M" --add 0.5 "$TMP/dpo-merged" --add 0.5 "$TMP/dpo-merged" --out "$TMP/merge2" >/dev/null 2>&1 &&
  cmp -s "$TMP/merge2/model.safetensors" "$TMP/dpo-merged/model.safetensors" || bad "slm merge: two halves are the model"
"$SLM" merge --base "$M" --add 0.5 "$TMP/dpo-merged" --out "$TMP/merge-half" >/dev/null 2>"$TMP/merge.err" &&
  "$SLM" generate --model "$TMP/merge-half" --prompt "Once" --max-tokens 5 >/dev/null 2>&1 || bad "slm merge --add 0.5, then generate"
grep -q "the merge is .* from the base (L2)" "$TMP/merge.err" || { bad "slm merge's summary"; cat "$TMP/merge.err"; }
refuse 2 "not a finite number" -- "$SLM" merge --base "$M" --add nan "$TMP/dpo-merged" --out "$TMP/out"
refuse 1 "--out is one of the models" -- "$SLM" merge --base "$M" --add 0.5 "$TMP/merge1" --out "$TMP/merge1"
[ -s "$TMP/merge1/model.safetensors" ] || bad "a refused merge into its own input left the input"
refuse 2 "--add" -- "$SLM" merge --base "$M" --out "$TMP/out"
refuse 2 "--lora-dropout" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --lora 4 --lora-dropout 1 --out "$TMP/out"
refuse 2 "--lora" -- "$SLM" align dpo --base "$M" --data "$TMP/prefs.jsonl" --lora-dropout 0.1 --out "$TMP/out"

# --- bad preference records: file:line, nothing left behind
good='{"prompt": "Tell a story.", "chosen": "Tom ran.", "rejected": "ran ran ran"}'
printf '%s\n{"prompt": "x", "chosen": "a"}\n' "$good" >"$TMP/p1.jsonl"
refuse 1 "p1.jsonl:2" -- "$SLM" align dpo --base "$M" --data "$TMP/p1.jsonl" --out "$TMP/out"
printf '%s\n%s\n{"prompt": "x", "chosen": " ", "rejected": "b"}\n' "$good" "$good" >"$TMP/p2.jsonl"
refuse 1 "p2.jsonl:3" -- "$SLM" align dpo --base "$M" --data "$TMP/p2.jsonl" --out "$TMP/out"
printf '{"prompt": "x", "chosen": "same", "rejected": "same"}\n' >"$TMP/p3.jsonl"
refuse 1 "p3.jsonl:1" -- "$SLM" align dpo --base "$M" --data "$TMP/p3.jsonl" --out "$TMP/out"
printf '%s\n{not json\n' "$good" >"$TMP/p4.jsonl"
refuse 1 "p4.jsonl:2" -- "$SLM" align dpo --base "$M" --data "$TMP/p4.jsonl" --out "$TMP/out"
printf '%s\n{"prompt": "x", "chosen": "a", "rejected": "b", "partial": "yes"}\n' "$good" >"$TMP/p5.jsonl"
refuse 1 "p5.jsonl:2" -- "$SLM" align dpo --base "$M" --data "$TMP/p5.jsonl" --out "$TMP/out"
printf '{"weights": {"wrods": 1}}\n' >"$TMP/r.json"
refuse 1 "r.json: weights" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --rewards "$TMP/r.json" --out "$TMP/out"
refuse 1 "no record of the tasks" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --tasks nosuch --out "$TMP/out"
refuse 2 "--group" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --group 1 --out "$TMP/out"
refuse 2 "--filter-groups" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --max-rounds 3 --out "$TMP/out"
refuse 2 "--word-credit" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --word-credit -1 --out "$TMP/out"
refuse 2 "--flaw-debit" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --flaw-debit -0.5 --out "$TMP/out"
refuse 2 "--scale-rewards" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --scale-rewards std --out "$TMP/out"
refuse 1 "unknown reward rule 'wrods'" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --filter-groups 0 \
  --filter-rules wrods --out "$TMP/out"
refuse 2 "--story-share" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --story-share 1 --out "$TMP/out"
refuse 2 "--ptx-data" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --ptx-coef 0.5 --out "$TMP/out"
refuse 1 "--ptx-context" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --ptx-data "$TMP/shards" \
  --ptx-context 513 --out "$TMP/out"
# shards of another tokenizer: their token ids mean other words
"$SLM" tokenizer train "$TMP/s.txt" --vocab-size 300 --quiet --out "$TMP/tok2.json" &&
  "$SLM" data pack "$TMP/s.txt" --tokenizer "$TMP/tok2.json" --quiet --out "$TMP/shards2" 2>/dev/null || bad "setup of shards2"
refuse 1 "another tokenizer" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --ptx-data "$TMP/shards2" \
  --out "$TMP/out"
refuse 2 "--ptx-data" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --ptx-loss kl --out "$TMP/out"
refuse 1 "--ptx-teacher" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" --ptx-data "$TMP/shards" \
  --ptx-teacher "$M" --out "$TMP/out"
# a teacher that reads other token ids
cp -r "$M" "$TMP/m2" && cp "$TMP/tok2.json" "$TMP/m2/tokenizer.json" || bad "setup of m2"
refuse 1 "the teacher has another tokenizer" -- "$SLM" align grpo --base "$M" --prompts "$TMP/sft/train.jsonl" \
  --ptx-data "$TMP/shards" --ptx-loss kl --ptx-teacher "$TMP/m2" --out "$TMP/out"
refuse 2 "--beta" -- "$SLM" align dpo --base "$M" --data "$TMP/p3.jsonl" --beta 0 --out "$TMP/out"

[ "$fail" -eq 0 ] && echo "align: all passed" || { echo "align: $fail failed"; exit 1; }
