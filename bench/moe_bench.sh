#!/usr/bin/env bash
# Dense vs mixture of experts at equal active parameters (docs/moe.md), in one run:
#   1. training tokens/s (bench_train: forward, backward, AdamW) of both;
#   2. decode tokens/s (bench_infer, the KV-cache engine, fp32) of both;
#   3. a short pre-training of both on the same shards for the same tokens, both
#      validation curves in one picture, and the MoE's expert load after warm-up.
# Dense: the tiny preset's shape (dim 128, 4 layers, hidden 344). MoE: 8 experts of
# hidden 172, top-2, in every layer: the same MLP parameters per token (2 × 172 = 344)
# plus the router (128 × 8 a layer).
# Usage: bench/moe_bench.sh SHARDS_DIR [STEPS] [OUT_DIR]
#   (SHARDS_DIR: a folder of slm data pack, e.g. runs/quickstart/shards)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARDS=${1:?usage: bench/moe_bench.sh SHARDS_DIR [STEPS] [OUT_DIR]}
STEPS=${2:-300}
OUT=${3:-runs/moe_bench}
THREADS=${THREADS:-1}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$OUT"
common='"dim": 128, "n_layers": 4, "n_heads": 4, "n_kv_heads": 2, "context": 256, "tie_embeddings": true'
echo "{\"model\": {$common, \"hidden_dim\": 344}}" > "$OUT/dense.json"
echo "{\"model\": {$common, \"hidden_dim\": 344, \"n_experts\": 8, \"experts_per_token\": 2, \"expert_hidden_dim\": 172}}" \
  > "$OUT/moe.json"
VOCAB=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["model"]["vocab"]))' "$SHARDS/tokenizer.json" 2>/dev/null || echo 4096)
tps() { sed -n 's/.* \([0-9.]*\) tokens\/s.*/\1/p' | head -1; }
field() { sed -n "s/^RESULT.*$1=\([0-9.]*\).*/\1/p"; }

echo "== training tokens/s ($THREADS thread(s), batch 8 x 256, best of 5 steps, process CPU time)"
d_train=$(OMP_NUM_THREADS=$THREADS BENCH_CLOCK=cpu ./build/bench/bench_train "$OUT/dense.json" "$VOCAB" 8 5 | tee -a /dev/stderr | tps)
m_train=$(OMP_NUM_THREADS=$THREADS BENCH_CLOCK=cpu ./build/bench/bench_train "$OUT/moe.json" "$VOCAB" 8 5 | tee -a /dev/stderr | tps)

echo "== decode tokens/s (fp32, $THREADS thread(s), prompt 32, decode 128, median of 3 interleaved pairs)"
./build/bench/bench_infer save "$OUT/dense.json" "$VOCAB" "$OUT/dense_model" >/dev/null
./build/bench/bench_infer save "$OUT/moe.json" "$VOCAB" "$OUT/moe_model" >/dev/null
# Three interleaved pairs, the median of each: one pair on a shared machine is noise.
d_all=() m_all=()
for _ in 1 2 3; do
  d_all+=("$(OMP_NUM_THREADS=$THREADS ./build/bench/bench_infer run "$OUT/dense_model" fp32 "$THREADS" 32 128 | tee -a /dev/stderr | field decode_tps)")
  m_all+=("$(OMP_NUM_THREADS=$THREADS ./build/bench/bench_infer run "$OUT/moe_model" fp32 "$THREADS" 32 128 | tee -a /dev/stderr | field decode_tps)")
done
median() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
d_dec=$(median "${d_all[@]}") m_dec=$(median "${m_all[@]}")

echo "== equal-token training: $STEPS steps of 8 x 256 tokens each"
for kind in dense moe; do
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["train"]={"batch_size":8,"grad_accum":1,"max_steps":int(sys.argv[2]),"lr":3e-3,"min_lr":3e-4,"warmup_steps":30,"weight_decay":0.1,"grad_clip":1.0,"eval_every":max(1,int(sys.argv[2])//6),"eval_batches":10,"checkpoint_every":100000,"keep_checkpoints":1}; json.dump(c, open(sys.argv[1],"w"))' "$OUT/$kind.json" "$STEPS"
  rm -rf "$OUT/run_$kind"
  ./build/slm pretrain --config "$OUT/$kind.json" --data "$SHARDS" --out "$OUT/run_$kind" --threads "$THREADS" --quiet
done
./build/bench/moe_report "$OUT/run_dense" "$OUT/run_moe" 60 "$OUT/dense_vs_moe.svg" | tee "$OUT/report.txt"
python3 - "$d_train" "$m_train" "$d_dec" "$m_dec" <<'PY'
import sys
dt, mt, dd, md = map(float, sys.argv[1:])
print(f"RESULT train_tps dense={dt:.0f} moe={mt:.0f} ratio={mt/dt:.2f} (goal >= 0.75)")
print(f"RESULT decode_tps dense={dd:.1f} moe={md:.1f} ratio={md/dd:.2f} (goal >= 0.80)")
PY
echo "picture: $OUT/dense_vs_moe.svg; expert load heat map: $OUT/run_moe/expert_load.svg"
