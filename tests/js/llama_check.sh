#!/usr/bin/env bash
# llama.cpp itself checks slm's GGUF: npm node-llama-cpp's prebuilt CPU llama.cpp loads
# slm's f32, f16 and q8_0 exports of a tiny model (tied and untied embeddings) and must
# agree with slm on the prompts' token ids, the greedy continuations and the loss of a
# held-out text (from llama.cpp's raw logits). Nothing is built or downloaded at run time.
# Usage: llama_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/llama_common.sh"

for tie in true false; do
  # 150 steps: enough for varied greedy text (an untrained model repeats one token).
  "$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=128 \
    --set model.context=64 --set model.tie_embeddings=$tie --set train.batch_size=16 --set train.lr=0.003 \
    --set train.warmup_steps=10 --max-steps 150 --data "$T/shards" --out "$T/run_$tie" "${q[@]}" >/dev/null
  # slm runs the model folder, not the .gguf: a wrong key in the export that slm's own
  # reader read back the same way would otherwise go unseen.
  M="$T/run_$tie/model"
  loss=$(loss_of "$M")
  for type in f32 f16 q8_0; do
    G="$T/m_${tie}_$type.gguf"
    "$SLM" export gguf --model "$M" --type $type --out "$G" >/dev/null
    # llama.cpp multiplies q8_0 weights by activations quantised to q8_0 blocks, as slm's
    # q8 path does, but with the file's f16 block scales: greedy text is compared with slm's
    # q8 run of the .gguf, the loss with the float folder's (hence the wider tolerance).
    # Their int8 roundings differ (llama.cpp's activation blocks have f16 scales), so there
    # the texts may part at a near tie: top two probabilities within 0.02.
    # The loss tolerances: f32 agrees to rounding; f16 weights move the loss by ~1e-4.
    quant=(); tol=1e-5; src=$M; gap=0
    [ $type = f16 ] && tol=5e-4
    [ $type = q8_0 ] && quant=(--quantize q8) && tol=1e-2 && src=$G && gap=0.02
    "$SLM" generate --model "$src" --input "$T/prompts.jsonl" --output "$T/gen.jsonl" --temperature 0 \
      --max-tokens 24 "${quant[@]}" "${q[@]}"
    node --no-warnings "$HERE/llama_check.mjs" "$G" "$T/gen.jsonl" "$T/prompt_ids.jsonl" \
      "$T/held/train_000000.bin" "$loss" $tol $gap
  done
  echo "ok: llama.cpp agrees with slm on f32, f16 and q8_0 (tie_embeddings=$tie)"
done
