# The setup that llama_check.sh and llama_moe_check.sh share, sourced by both: a tiny
# story corpus, tokenizer and shards, a held-out text, prompts and their ids, in a temp
# folder T removed on exit; loss_of MODEL prints slm eval loss on the held-out text.
# Expects SLM=the slm binary and HERE=tests/js.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -d "$HERE/node_modules/@node-llama-cpp/linux-x64" ] || { echo "FAIL: npm packages missing: (cd tests/js && npm ci)"; exit 1; }
export NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
q=(--quiet --threads 2)
"$SLM" data stories --count 200 --out "$T/s.txt" "${q[@]}"
"$SLM" tokenizer train "$T/s.txt" --vocab-size 400 --out "$T/tok.json" "${q[@]}"
"$SLM" data pack "$T/s.txt" --tokenizer "$T/tok.json" --val-fraction 0.1 --out "$T/shards" "${q[@]}" >/dev/null

# Held-out text, written here (not generated): two windows of the 64-token context.
printf '%s\n' "Lily saw a big red ball in the park. She ran to it and laughed." \
  "Tom had a small blue boat. He took it to the pond, but the wind was strong and the boat went far away. Tom was sad." \
  > "$T/held.txt"
"$SLM" data pack "$T/held.txt" --tokenizer "$T/tok.json" --val-fraction 0 --out "$T/held" "${q[@]}" >/dev/null
printf '%s\n' '{"prompt": "Once upon a time"}' '{"prompt": "The little dog"}' '{"prompt": "One day, a girl named Sue"}' \
  '{"prompt": "\"Look!\" said Mom."}' > "$T/prompts.jsonl"
sed 's/"prompt"/"text"/' "$T/prompts.jsonl" > "$T/prompt_texts.jsonl"
"$SLM" tokenizer encode --tokenizer "$T/tok.json" --jsonl "$T/prompt_texts.jsonl" > "$T/prompt_ids.jsonl"

loss_of() {  # slm eval loss of MODEL on the held-out shard
  "$SLM" eval loss --model "$1" --data "$T/held/train_000000.bin" --out "$T/eval" "${q[@]}" >/dev/null
  node -e 'console.log(require(process.argv[1]).models[0].loss.loss)' "$T/eval/report.json"
}
