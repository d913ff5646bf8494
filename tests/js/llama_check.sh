#!/usr/bin/env bash
# llama.cpp itself checks slm's GGUF: npm node-llama-cpp's prebuilt CPU llama.cpp loads
# slm's f32, f16 and q8_0 exports of a tiny model (tied and untied embeddings) and must
# agree with slm on the prompts' token ids, the greedy continuations and the loss of a
# held-out text (from llama.cpp's raw logits); also for a LoRA-merged model and one whose
# tokenizer was trained with --space-merges. Nothing is built or downloaded at run time.
# Usage: llama_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/llama_common.sh"

# check_exports MODEL_DIR LABEL TYPE...: llama.cpp runs each export of the model as slm runs it.
check_exports() {
  local M=$1 label=$2
  shift 2
  local loss
  loss=$(loss_of "$M")
  for type in "$@"; do
    G="$T/m_${label}_$type.gguf"
    "$SLM" export gguf --model "$M" --type $type --out "$G" >/dev/null
    # llama.cpp multiplies q8_0 weights by activations quantised to q8_0 blocks, as slm's
    # q8 path does, but with the file's f16 block scales: greedy text is compared with slm's
    # q8 run of the .gguf, the loss with the float folder's (hence the wider tolerance).
    # Their int8 roundings differ (llama.cpp's activation blocks have f16 scales), so there
    # the texts may part at a near tie: top two probabilities within 0.02.
    # The loss tolerances: f32 agrees to rounding; f16 weights move the loss by ~1e-4.
    # --raw: the prompts as they are, also for a model tuned on a prompt template.
    quant=(); tol=1e-5; src=$M; gap=0
    [ $type = f16 ] && tol=5e-4
    [ $type = q8_0 ] && quant=(--quantize q8) && tol=1e-2 && src=$G && gap=0.02
    "$SLM" generate --model "$src" --input "$T/prompts.jsonl" --output "$T/gen.jsonl" --temperature 0 \
      --max-tokens 24 --raw "${quant[@]}" "${q[@]}"
    node --no-warnings "$HERE/llama_check.mjs" "$G" "$T/gen.jsonl" "$T/prompt_ids.jsonl" \
      "$T/held/train_000000.bin" "$loss" $tol $gap
  done
  echo "ok: llama.cpp agrees with slm on $* ($label)"
}

for tie in true false; do
  # 150 steps: enough for varied greedy text (an untrained model repeats one token).
  "$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=128 \
    --set model.context=64 --set model.tie_embeddings=$tie --set train.batch_size=16 --set train.lr=0.003 \
    --set train.warmup_steps=10 --max-steps 150 --data "$T/shards" --out "$T/run_$tie" "${q[@]}" >/dev/null
  # slm runs the model folder, not the .gguf: a wrong key in the export that slm's own
  # reader read back the same way would otherwise go unseen.
  check_exports "$T/run_$tie/model" "tie_embeddings=$tie" f32 f16 q8_0
done

# A LoRA fine-tune folded into its base by slm lora merge is a plain model: its GGUF runs too.
# Its base has a context of 256, room for Alpaca's prompt (the held-out text is one window).
"$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=128 \
  --set model.context=256 --set model.tie_embeddings=false --set train.batch_size=8 --set train.lr=0.003 \
  --set train.warmup_steps=10 --max-steps 100 --data "$T/shards" --out "$T/run_lora_base" "${q[@]}" >/dev/null
for i in $(seq 1 40); do
  printf '{"instruction": "Say the name.", "input": "%s", "output": "%s is here."}\n' Tom Tom Lily Lily Ben Ben | sed -n "$((i % 3 + 1))p"
done > "$T/sft.jsonl"
"$SLM" finetune --base "$T/run_lora_base/model" --data "$T/sft.jsonl" --lora 4 --lora-targets all --max-steps 20 \
  --set train.lr=0.01 --out "$T/lora" "${q[@]}" >/dev/null
"$SLM" lora merge --base "$T/run_lora_base/model" --adapter "$T/lora/model" --out "$T/merged" --quiet >/dev/null
check_exports "$T/merged" "LoRA merged" f32 q8_0

# A tokenizer trained with --space-merges (the space joins a word's first token only after
# every other merge): llama.cpp's GPT-2 BPE must split the prompts as slm does. The corpus,
# held-out text and prompt ids are redone with it.
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --space-merges 0.3 --out "$T/tok.json" "${q[@]}"
rm -rf "$T/shards" "$T/held"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null
"$SLM" data pack "$T/held.txt" --tokenizer "$T/tok.json" --val-fraction 0 --out "$T/held" "${q[@]}" >/dev/null
"$SLM" tokenizer encode --tokenizer "$T/tok.json" --jsonl "$T/prompt_texts.jsonl" > "$T/prompt_ids.jsonl"
"$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=128 \
  --set model.context=64 --set train.batch_size=16 --set train.lr=0.003 \
  --set train.warmup_steps=10 --max-steps 150 --data "$T/shards" --out "$T/run_space" "${q[@]}" >/dev/null
check_exports "$T/run_space/model" "space merges" f32
