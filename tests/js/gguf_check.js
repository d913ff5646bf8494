// Parses an slm GGUF export with Hugging Face's @huggingface/gguf and checks that the
// metadata and tensor table are what the model folder says.
// Usage: node gguf_check.js FILE.gguf MODEL_DIR TYPE(f32|f16|q8_0)
const fs = require("fs");
const { gguf } = require("@huggingface/gguf");

(async () => {
  const [file, dir, type] = process.argv.slice(2);
  const cfg = JSON.parse(fs.readFileSync(dir + "/config.json"));
  const tok = JSON.parse(fs.readFileSync(dir + "/tokenizer.json"));
  const r = await gguf(file, { allowLocalFile: true, computeParametersCount: true });
  const m = r.metadata;
  const fail = (msg) => { console.log("FAIL: " + msg); process.exit(1); };
  const want = {
    version: 3, "general.architecture": "llama", "llama.context_length": cfg.max_position_embeddings,
    "llama.embedding_length": cfg.hidden_size, "llama.block_count": cfg.num_hidden_layers,
    "llama.feed_forward_length": cfg.intermediate_size, "llama.attention.head_count": cfg.num_attention_heads,
    "llama.attention.head_count_kv": cfg.num_key_value_heads, "llama.rope.dimension_count": cfg.head_dim,
    "llama.vocab_size": cfg.vocab_size, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
    "general.file_type": { f32: 0, f16: 1, q8_0: 7 }[type],
  };
  for (const [k, v] of Object.entries(want)) if (m[k] !== v) fail(`${k} is ${m[k]}, expected ${v}`);
  if (Math.abs(m["llama.rope.freq_base"] - cfg.rope_theta) > 1e-3) fail("rope.freq_base");
  if (Math.abs(m["llama.attention.layer_norm_rms_epsilon"] - cfg.rms_norm_eps) > 1e-9) fail("rms epsilon");
  const tokens = m["tokenizer.ggml.tokens"];
  if (tokens.length !== cfg.vocab_size) fail(`${tokens.length} tokens`);
  for (const [t, id] of Object.entries(tok.model.vocab)) if (tokens[id] !== t) fail(`token ${id} is ${tokens[id]}, not ${t}`);
  for (const a of tok.added_tokens) {
    if (tokens[a.id] !== a.content) fail("added token " + a.id);
    if (m["tokenizer.ggml.token_type"][a.id] !== 3) fail("a special token is not a control token");
  }
  if (m["tokenizer.ggml.eos_token_id"] !== tok.added_tokens[0].id) fail("eos id");
  if (m["tokenizer.ggml.merges"].length !== tok.model.merges.length) fail("merges");
  // Tensors: llama.cpp's names, dims innermost first, types, aligned offsets, every parameter.
  const L = cfg.num_hidden_layers, D = cfg.hidden_size, F = cfg.intermediate_size, V = cfg.vocab_size;
  const KV = cfg.num_key_value_heads * cfg.head_dim;
  const expect = [["token_embd.weight", [D, V]]];
  for (let i = 0; i < L; i++)
    expect.push([`blk.${i}.attn_norm.weight`, [D]], [`blk.${i}.attn_q.weight`, [D, D]], [`blk.${i}.attn_k.weight`, [D, KV]],
      [`blk.${i}.attn_v.weight`, [D, KV]], [`blk.${i}.attn_output.weight`, [D, D]], [`blk.${i}.ffn_norm.weight`, [D]],
      [`blk.${i}.ffn_gate.weight`, [D, F]], [`blk.${i}.ffn_up.weight`, [D, F]], [`blk.${i}.ffn_down.weight`, [F, D]]);
  expect.push(["output_norm.weight", [D]]);
  if (!cfg.tie_word_embeddings) expect.push(["output.weight", [D, V]]);
  if (r.tensorInfos.length !== expect.length) fail(`${r.tensorInfos.length} tensors, expected ${expect.length}`);
  const wtype = { f32: 0, f16: 1, q8_0: 8 }[type];
  let params = 0;
  expect.forEach(([name, shape], i) => {
    const t = r.tensorInfos[i];
    if (t.name !== name) fail(`tensor ${i} is ${t.name}, expected ${name}`);
    if (t.shape.map(Number).join(",") !== shape.join(",")) fail(`${name} shape ${t.shape}`);
    const dt = shape.length === 1 ? 0 : wtype;
    if (t.dtype !== dt) fail(`${name} dtype ${t.dtype}, expected ${dt}`);
    if (Number(t.offset) % 32 !== 0) fail(`${name} offset not aligned`);
    params += shape.reduce((a, b) => a * b, 1);
  });
  if (r.parameterCount !== params) fail(`parameter count ${r.parameterCount} vs ${params}`);
  console.log(`ok: ${file}: ${r.tensorInfos.length} tensors, ${params} parameters, ${Object.keys(m).length} metadata keys`);
})().catch((e) => { console.log("FAIL: " + e); process.exit(1); });
