#!/usr/bin/env bash
# The CPU recipe of issue 16: as far as 2 cores get in about an hour, for the goals the
# quickstart's 5-minute model does not reach (required words used, questions answered).
# The quickstart's model shape (configs/tiny.json, ~1.25M parameters) with 12x its
# pre-training on 4x its data, then 4x its instruction tuning (LoRA adapters), then GRPO on
# the writing and question tasks, and the before/after evaluation of each stage.
#   1-4. data, a tokenizer that splits a word the same after a space and after a quote
#        (--space-merges 0.4), shards   (80 MB of stories, 21.8M tokens: ~10 s)
#   5.   pre-train 12,000 steps             (24.6M tokens, 29 min; validation loss 1.075), the
#        embedding rows of " w" and "w" shared (train.share_space_embeddings)
#   6-7. instruction data, LoRA r 16 fine-tune 3,600 steps with --words-weight 10 (12 min 39 s),
#        merged, evaluated on held-out requests
#   8.   GRPO 100 steps, evaluated before/after (~3 min + evaluation)
#   8b.  one round of rejection-sampling fine-tuning from the fine-tuned model: its own stories
#        that use every required word, LoRA on them, merged (~11 min); the recipe's model
# Times are for 2 cores with AVX-512; with AVX2 only, pre-training runs at ~8,200 tokens/s
# (~50 min for its 12,000 steps) and the recipe takes about 80 min (docs/alignment.md, item 20).
# Measured on a quiet 2-core machine (2026-12-04, RECIPE_EVAL_LIMIT=400): required words
# 60.8% after fine-tuning, 60.6% after GRPO, 66.9% after the rejection round (10 min 57 s);
# questions 97.4%, 90.7%, 96.4% (docs/alignment.md, item 19). Earlier (2026-12-03, the data and
# tokenizer of an earlier run): words 62.3% after fine-tuning, 66.7% after GRPO;
# questions 93.8%, 89.6%. Without shared spellings (RECIPE_SHARE_SPACE=0) 49.1% and 52.7%
# of the words, 95.3% and 94.3% of the questions; with GPT-2's BPE (RECIPE_SPACE_MERGES=0)
# 36.4% and 82.9% before GRPO, and with every weight fine-tuned (RECIPE_LORA=0) 23.9% and
# 96.5%. Item 11's --word-credit GRPO on this recipe's fine-tune reaches 72.5% of the words
# with 94.3% of the questions; in three stages (9, RECIPE_WORD_CREDIT_STAGES=3, ~50 min more)
# 75.6% with 94.3%, most of the plain stories' spelling kept by the KL mix (RECIPE_WORD_CREDIT_KL=0:
# 81.4% with 95.3%, misspellings five times as many); those stages were measured from the
# fine-tuned model (RECIPE_RFT_ROUNDS=0), and now start from the rejection round's model,
# where one KL-mix stage reached 74.0%. The figures are in docs/alignment.md
# (items 13, 14, 16, 18, 19). Every stage
# resumes where it stopped (run the script again).
# Everything goes to runs/recipe-cpu/. Usage: scripts/recipe-cpu.sh
# env: RECIPE_RUN, RECIPE_SIZE_MB, RECIPE_PRE_STEPS, RECIPE_FT_STEPS, RECIPE_GRPO_STEPS,
#      RECIPE_EVAL_LIMIT (held-out records per evaluation), RECIPE_SFT_STORIES, RECIPE_THREADS,
#      RECIPE_QUOTE_WORDS (share of pre-training headers that quote their words),
#      RECIPE_REQUESTS (share of pre-training stories written as writing requests),
#      RECIPE_SFT_SEED (the instruction data's stories; another seed than the pre-training's 7
#      keeps every held-out story out of pre-training),
#      RECIPE_LORA (rank R: fine-tune LoRA adapters, base frozen, lr 2e-3, then merge them;
#      16, the default; 0: every weight, which used fewer of the required words, 23.9%
#      against 35.5%, and answered more questions, 96.5% against 82.5%: docs/alignment.md),
#      RECIPE_SPACE_MERGES (slm tokenizer train --space-merges: 0.4, the default, splits a
#      word the same after a space and after a quote; 0: GPT-2's BPE; 0.2: more of the
#      words, fewer of the questions, docs/alignment.md item 12; docs/tokenizer.md),
#      RECIPE_GRPO_TOKENS (the longest sampled answer in GRPO, 200),
#      RECIPE_SHARE_SPACE (1, the default: pre-train with train.share_space_embeddings, the
#      row of " w" trained as its own plus the row of "w", docs/alignment.md item 13; 0: not),
#      RECIPE_WORD_CREDIT_STAGES (0, the default: none; N: after stage 8, N stages of 300 steps
#      of word-credit GRPO on the writing requests, each from the last, ~12 min each; item 14),
#      RECIPE_WORD_CREDIT_KL (the weight of those stages' KL mix, --ptx-loss kl with the
#      model they start from as teacher: 1, the default, ~16 min a stage; 0: none; item 16),
#      RECIPE_RFT_ROUNDS (1, the default; N: after stage 8, N rounds of rejection-sampling
#      fine-tuning from the fine-tuned model, slm align rft, ~11 min each; 0: none; the
#      word-credit stages then start from the last round's model; item 18),
#      RECIPE_RFT_REQUESTS, RECIPE_RFT_STEPS (a round's writing requests, 1600, and LoRA
#      steps, 800),
#      RECIPE_FLAW_DEBIT (those stages' --flaw-debit: the tokens of a made-up, doubled or
#      looping word in the samples each get this penalty; 0, the default: none; 0.05 cost
#      a stage its words, 56.2% against 70.5%, while halving the misspellings; item 17),
#      RECIPE_SLM (the slm binary to run: ./build/slm by default),
#      RECIPE_CONTEXT (the model's context in tokens; the config's, 512 for tiny, by default),
#      RECIPE_CONFIG (the model's shape and pre-training rate: tiny, the default, or small,
#      configs/small.json, 3.15M parameters, 2.5x tiny, at half tiny's tokens a
#      second; RECIPE_CONFIG=small RECIPE_PRE_STEPS=8000 is ~37 min of pre-training)
set -euo pipefail
cd "$(dirname "$0")/.."
SLM=${RECIPE_SLM:-./build/slm}
[ -x "$SLM" ] || ./scripts/setup.sh
RUN=${RECIPE_RUN:-runs/recipe-cpu}
SIZE_MB=${RECIPE_SIZE_MB:-80}
PRE_STEPS=${RECIPE_PRE_STEPS:-12000}
FT_STEPS=${RECIPE_FT_STEPS:-3600}
GRPO_STEPS=${RECIPE_GRPO_STEPS:-100}
GRPO_TOKENS=${RECIPE_GRPO_TOKENS:-200}
EVAL_LIMIT=${RECIPE_EVAL_LIMIT:-120}
QUOTE_WORDS=${RECIPE_QUOTE_WORDS:-0}
REQUESTS=${RECIPE_REQUESTS:-0}
SFT_SEED=${RECIPE_SFT_SEED:-7}
LORA=${RECIPE_LORA:-16}
CONFIG=${RECIPE_CONFIG:-tiny}
SPACE_MERGES=${RECIPE_SPACE_MERGES:-0.4}
WC_STAGES=${RECIPE_WORD_CREDIT_STAGES:-0}
RFT_ROUNDS=${RECIPE_RFT_ROUNDS:-1}
RFT_REQUESTS=${RECIPE_RFT_REQUESTS:-1600}
RFT_STEPS=${RECIPE_RFT_STEPS:-800}
WC_KL=${RECIPE_WORD_CREDIT_KL:-1}
FLAW_DEBIT=${RECIPE_FLAW_DEBIT:-0}
# Checked before any work: bash arithmetic would read a word as 0 stages without a word.
[[ "$RFT_ROUNDS" =~ ^[0-9]+$ ]] || { echo "recipe-cpu: RECIPE_RFT_ROUNDS: expected a whole number of rounds, got '$RFT_ROUNDS'" >&2; exit 2; }
[[ "$RFT_REQUESTS" =~ ^[1-9][0-9]*$ ]] || { echo "recipe-cpu: RECIPE_RFT_REQUESTS: expected a number of requests, got '$RFT_REQUESTS'" >&2; exit 2; }
[[ "$RFT_STEPS" =~ ^[1-9][0-9]*$ ]] || { echo "recipe-cpu: RECIPE_RFT_STEPS: expected a number of steps, got '$RFT_STEPS'" >&2; exit 2; }
[[ "$WC_STAGES" =~ ^[0-9]+$ ]] || { echo "recipe-cpu: RECIPE_WORD_CREDIT_STAGES: expected a whole number of stages, got '$WC_STAGES'" >&2; exit 2; }
[[ "$WC_KL" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "recipe-cpu: RECIPE_WORD_CREDIT_KL: expected a weight >= 0, got '$WC_KL'" >&2; exit 2; }
[[ "$FLAW_DEBIT" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "recipe-cpu: RECIPE_FLAW_DEBIT: expected a penalty >= 0, got '$FLAW_DEBIT'" >&2; exit 2; }
threads=(--threads "${RECIPE_THREADS:-0}")
context=()
[ -n "${RECIPE_CONTEXT:-}" ] && context=(--set "model.context=$RECIPE_CONTEXT")
share=()
[ "${RECIPE_SHARE_SPACE:-1}" = 1 ] && share=(--set train.share_space_embeddings=true)
mkdir -p "$RUN"
start=$(date +%s)
stage() { echo; echo "== $1 ($(($(date +%s) - start)) s so far)"; }

# resume_flag STAGE_DIR: --resume when the stage stopped before its model was written;
# a finished stage is kept (delete its folder to redo it).
resume_flag() { [ -d "$1/checkpoints" ] && [ ! -d "$1/model" ] && echo "--resume $1" || true; }

stage "1-4. ${SIZE_MB} MB of stories, a 4096-token BPE tokenizer, token shards"
# RECIPE_QUOTE_WORDS=0.5 quotes half the headers' words, as half the writing requests do
# (a quoted word is spelled with other tokens). Measured: the pre-trained model then uses
# quoted header words 24% of the time (6% without), but the instruction-tuned model's use
# of quoted request words stayed at 3.0%, so the recipe keeps 0 (docs/alignment.md).
[ -f "$RUN/stories.txt" ] || $SLM data stories --size "$SIZE_MB" --seed 7 --instruct --quote-words "$QUOTE_WORDS" --requests "$REQUESTS" \
  --out "$RUN/stories.txt" "${threads[@]}"
[ -d "$RUN/data" ] || $SLM data import "$RUN/stories.txt" --val-fraction 0.01 --out "$RUN/data"
[ -f "$RUN/tokenizer.json" ] || $SLM tokenizer train "$RUN/data/train.jsonl" --vocab-size 4096 \
  --space-merges "$SPACE_MERGES" --out "$RUN/tokenizer.json"
[ -d "$RUN/shards" ] || $SLM data pack "$RUN/data" --tokenizer "$RUN/tokenizer.json" --out "$RUN/shards"

stage "5. Pre-train configs/$CONFIG.json for $PRE_STEPS steps"
if [ ! -d "$RUN/pretrain/model" ]; then
  # shellcheck disable=SC2046
  $SLM pretrain --config "$CONFIG" --data "$RUN/shards" --out "$RUN/pretrain" --max-steps "$PRE_STEPS" \
    --set train.eval_every=500 --set train.checkpoint_every=500 --set train.warmup_steps=200 "${threads[@]}" "${context[@]}" "${share[@]}" \
    $(resume_flag "$RUN/pretrain")
fi

stage "6-7. Instruction data, then instruction-tune for $FT_STEPS steps"
[ -d "$RUN/sft" ] || $SLM data instruct --stories "${RECIPE_SFT_STORIES:-12000}" --seed "$SFT_SEED" --out "$RUN/sft"
if [ ! -d "$RUN/finetune/model" ]; then
  # shellcheck disable=SC2046
  # --words-weight 10: the required words' tokens count 10x in their response (7.4% -> 24.4%
  # of the words used on 400 held-out requests; docs/alignment.md, "Making the copy count").
  lora=()
  [ "$LORA" != 0 ] && lora=(--lora "$LORA" --set train.lr=2e-3)
  $SLM finetune --base "$RUN/pretrain/model" --data "$RUN/sft/train.jsonl" --out "$RUN/finetune" --words-weight 10 \
    --max-steps "$FT_STEPS" --eval "$RUN/sft/heldout.jsonl" --eval-limit "$EVAL_LIMIT" "${lora[@]}" "${threads[@]}" \
    $(resume_flag "$RUN/finetune")
fi
# The tuned model for GRPO: the fine-tune's own, or with LoRA the base with the adapters folded in.
TUNED=$RUN/finetune/model
if [ -f "$RUN/finetune/model/adapter_config.json" ]; then
  TUNED=$RUN/finetune-merged
  [ -d "$TUNED" ] || $SLM lora merge --base "$RUN/pretrain/model" --adapter "$RUN/finetune/model" --out "$TUNED"
fi

# lr 1e-4: at 5e-4 (the quickstart's, for 30 steps) 100 steps drifted away from the tuned
# model (KL 0.4-1.0, questions answered 73.7% -> 57.9%); at 1e-4 from the --words-weight
# model, KL 0.03 and words 26.1% -> 27.5%; docs/alignment.md has the runs.
stage "8. GRPO for $GRPO_STEPS steps on the writing and question tasks"
if [ ! -d "$RUN/grpo/model" ]; then
  # shellcheck disable=SC2046
  $SLM align grpo --base "$TUNED" --prompts "$RUN/sft/train.jsonl" --out "$RUN/grpo" \
    --tasks write_words,write_features,main_character,friend,place,object,kind,yes_no --max-steps "$GRPO_STEPS" \
    --set train.batch_size=2 --set train.lr=1e-4 --set train.min_lr=1e-5 --max-tokens "$GRPO_TOKENS" \
    --eval "$RUN/sft/heldout.jsonl" --eval-limit "$EVAL_LIMIT" --eval-stories 8 "${threads[@]}" \
    $(resume_flag "$RUN/grpo")
fi

# Item 18 (docs/alignment.md): rejection-sampling fine-tuning rounds, one by default. Each
# round samples 8 stories for each of 1,600 writing requests of the training set (round i the
# i-th 1,600, wrapping around), keeps the best 2 of each that use every required word, end by
# themselves and have no made-up, doubled or looping word (slm align rft), and fine-tunes
# LoRA adapters for 800 steps on them mixed with 2,000 records of the other tasks, then folds
# them in. Measured: required words 60.8% -> 66.9-67.7% after one round (two sampling seeds;
# 3,200 requests and 1,000 steps: 66.9%), on 256 stories a third more misspelled words and up
# to twice the loops, about what the GRPO stage costs (docs/alignment.md, item 19); a second
# round reached 68.4% with twice the misspelled words, so one round is the default. A round
# reuses its samples.jsonl when rerun: delete rft-N to sample again with new settings.
base=$TUNED
for ((i = 1; i <= RFT_ROUNDS; i++)); do
  stage "8b.$i Rejection-sampling fine-tuning, round $i of $RFT_ROUNDS"
  R=$RUN/rft-$i
  mkdir -p "$R"
  if [ ! -f "$R/samples.jsonl" ]; then
    python3 - "$RUN/sft/train.jsonl" "$R" "$i" "$RFT_REQUESTS" <<'PY'
import json, random, sys
src, out, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in open(src)]
writing = [l for l, r in zip(open(src), rows) if r["task"] in ("write_words", "write_features")]
others = [l for l, r in zip(open(src), rows) if r["task"] not in ("write_words", "write_features")]
n = int(sys.argv[4])
start = ((i - 1) * n) % len(writing)
take = (writing + writing)[start:start + n]
open(f"{out}/requests.jsonl", "w").writelines(take)
random.Random(i).shuffle(others)
open(f"{out}/others.jsonl", "w").writelines(others[:2000])
PY
    $SLM align rft --model "$base" --prompts "$R/requests.jsonl" --group 8 --keep 2 --temperature 0.6 --top-k 40 \
      --max-tokens 400 --seed "$((1000 * i + 11))" "${threads[@]}" --out "$R/samples.jsonl"
  fi
  # A model that never uses every word (the quickstart's) has nothing to learn from here.
  if [ ! -s "$R/samples.jsonl" ]; then
    echo "rejection round $i kept no story (none passed every check): nothing to fine-tune on, no model from this round"
    continue
  fi
  if [ ! -f "$R/mix.jsonl" ]; then
    python3 - "$R" "$i" <<'PY'
import os, random, sys
out, i = sys.argv[1], int(sys.argv[2])
mix = open(f"{out}/samples.jsonl").readlines() + open(f"{out}/others.jsonl").readlines()
random.Random(i).shuffle(mix)
tmp = f"{out}/mix.jsonl.tmp"
open(tmp, "w").writelines(mix)
os.replace(tmp, f"{out}/mix.jsonl")
PY
  fi
  if [ ! -d "$R/finetune/model" ]; then
    # shellcheck disable=SC2046
    $SLM finetune --base "$base" --data "$R/mix.jsonl" --out "$R/finetune" --words-weight 10 --lora 16 \
      --set train.lr=1e-3 --max-steps "$RFT_STEPS" --eval "$RUN/sft/heldout.jsonl" --eval-limit "$EVAL_LIMIT" "${threads[@]}" \
      $(resume_flag "$R/finetune")
  fi
  [ -d "$R/model" ] || $SLM lora merge --base "$base" --adapter "$R/finetune/model" --out "$R/model"
  base=$R/model
done

# Item 14 (docs/alignment.md): word-credit GRPO in stages of 300 steps, each stage starting
# from the last one's model, which is also its reference (the KL restarts at 0) and gets a
# fresh learning-rate schedule. Measured: required words 62.3% -> 72.8 / 78.1 / 81.4% after
# stages 1-3 (12 min each), questions 94.3-95.3%; misspelled share of 8 stories 0.008 -> 0.039.
# With RECIPE_WORD_CREDIT_KL > 0 (1, the default) each stage also keeps the fine-tuned model's
# own predictions on pre-training windows (--ptx-loss kl, item 16): 75.6% after 3 stages
# instead of 81.4%, with a quarter of the plain stories' extra misspellings, half the loops,
# and ROUGE-L 0.41.
# (A stage interrupted before the mix was the default resumes only with RECIPE_WORD_CREDIT_KL=0;
# a stage resumes only with the RECIPE_FLAW_DEBIT it started with.)
kl_mix=()
[[ "$WC_KL" =~ ^0*[.]?0*$ ]] || kl_mix=(--ptx-data "$RUN/shards" --ptx-loss kl --ptx-coef "$WC_KL")
START=$base
for ((i = 1; i <= WC_STAGES; i++)); do
  # The teacher is the model the stages start from (the fine-tuned one, or the last
  # rejection-sampling round's): stage 1's reference already, later stages' named.
  teacher=()
  [ ${#kl_mix[@]} -gt 0 ] && [ "$i" -gt 1 ] && teacher=(--ptx-teacher "$START")
  stage "9.$i Word-credit GRPO, stage $i of $WC_STAGES (300 steps)"
  if [ ! -d "$RUN/words-$i/model" ]; then
    # shellcheck disable=SC2046
    $SLM align grpo --base "$base" --prompts "$RUN/sft/train.jsonl" --out "$RUN/words-$i" \
      --tasks write_words,write_features --scale-rewards none --filter-groups 0 --filter-rules words,features \
      --max-rounds 3 --word-credit 0.03 --flaw-debit "$FLAW_DEBIT" --max-steps 300 --set train.batch_size=2 --set train.lr=1e-4 \
      --set train.min_lr=1e-5 --max-tokens "$GRPO_TOKENS" "${share[@]}" "${kl_mix[@]}" "${teacher[@]}" \
      --eval "$RUN/sft/heldout.jsonl" --eval-limit "$EVAL_LIMIT" --eval-stories 8 "${threads[@]}" \
      $(resume_flag "$RUN/words-$i")
  fi
  base=$RUN/words-$i/model
done

stage "done"
python3 - "$RUN" "$RFT_ROUNDS" "$WC_STAGES" <<'PY'
import json, os, sys
run, rounds, stages = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
val = [r for r in map(json.loads, open(f"{run}/pretrain/metrics.jsonl")) if "val_loss" in r]
if val:
    print(f"pre-training: validation loss {val[-1]['val_loss']:.3f} at step {val[-1]['step']}")
def line(name, s):
    print(f"{name:<22} required words {100 * s['required_words']:5.1f}%   questions answered "
          f"{100 * s['question_contains_answer']:5.1f}%   features {100 * s['features']:5.1f}%")
ft = f"{run}/finetune/eval_instruct.json"
if os.path.exists(ft):
    j = json.load(open(ft))
    line("pre-trained", j["base"])
    line("instruction-tuned", j["finetuned"])
rl = f"{run}/grpo/eval/instruct.json"
if os.path.exists(rl):
    line("GRPO", json.load(open(rl))["scores"])
for i in range(1, rounds + 1):  # a round that kept no story has no evaluation
    f = f"{run}/rft-{i}/finetune/eval_instruct.json"
    if os.path.exists(f):
        line(f"rejection round {i}", json.load(open(f))["finetuned"])
for i in range(1, stages + 1):
    f = f"{run}/words-{i}/eval/instruct.json"
    if os.path.exists(f):
        line(f"word-credit stage {i}", json.load(open(f))["scores"])
print("goal (issue 16): >= 80% required words, >= 60% questions; GRPO's story metrics: " + f"{run}/grpo/eval/report.html")
PY
# The recipe's model: the last stage's. $base is the last word-credit stage's or rejection
# round's model, or still the fine-tuned one when neither trained: then GRPO's.
final=$base
[ "$final" = "$TUNED" ] && final=$RUN/grpo/model
echo "the recipe's model: $final"
echo "total: $(($(date +%s) - start)) s"
