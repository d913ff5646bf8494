#!/usr/bin/env bash
# llama.cpp runs slm's mixture-of-experts GGUF (llama arch with llama.expert_count and the
# 3-D ffn_*_exps tensors): npm node-llama-cpp's prebuilt CPU llama.cpp must agree with slm
# on the greedy continuations and the held-out loss, as llama_check.sh checks dense models.
# Then slm reads the .gguf back (GGUF import of MoE) and gets the same loss.
# Usage: llama_moe_check.sh PATH/TO/slm
set -euo pipefail
SLM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/llama_common.sh"

# 4 experts, top-2, in every layer (what llama.cpp's llama arch runs).
"$SLM" pretrain --config tiny --set model.dim=64 --set model.n_layers=2 --set model.hidden_dim=96 \
  --set model.context=64 --set model.n_experts=4 --set model.experts_per_token=2 --set train.batch_size=16 \
  --set train.lr=0.003 --set train.warmup_steps=10 --max-steps 150 --data "$T/shards" --out "$T/run" "${q[@]}" >/dev/null
grep -q '"expert_tokens"' "$T/run/metrics.jsonl" || { echo "FAIL: no expert_tokens in metrics.jsonl"; exit 1; }
[ -s "$T/run/expert_load.svg" ] || { echo "FAIL: no expert_load.svg"; exit 1; }
M="$T/run/model"
loss=$(loss_of "$M")
for type in f32 q8_0; do
  G="$T/m_$type.gguf"
  "$SLM" export gguf --model "$M" --type $type --out "$G" >/dev/null
  quant=(); tol=1e-5; src=$M; gap=0
  [ $type = q8_0 ] && quant=(--quantize q8) && tol=1e-2 && src=$G && gap=0.02
  "$SLM" generate --model "$src" --input "$T/prompts.jsonl" --output "$T/gen.jsonl" --temperature 0 \
    --max-tokens 24 "${quant[@]}" "${q[@]}"
  node --no-warnings "$HERE/llama_check.mjs" "$G" "$T/gen.jsonl" "$T/prompt_ids.jsonl" \
    "$T/held/train_000000.bin" "$loss" $tol $gap
done
# GGUF import: slm reads its own MoE .gguf back to the same loss.
back=$(loss_of "$T/m_f32.gguf")
node -e 'const [a, b] = process.argv.slice(1).map(Number); if (Math.abs(a - b) > 1e-5) { console.log(`FAIL: loss ${a} from the folder, ${b} from the .gguf`); process.exit(1); }' "$loss" "$back"
echo "ok: llama.cpp agrees with slm on an MoE model (f32, q8_0); slm reads the .gguf back"
