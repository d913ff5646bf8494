// llama.cpp itself (npm node-llama-cpp's prebuilt CPU binary) loads one of slm's GGUF
// exports and must agree with slm: the prompts' token ids, greedy continuations token for
// token (as text), and the loss of a held-out text computed from llama.cpp's raw logits.
// Usage: node llama_check.mjs MODEL.gguf GENERATED.jsonl PROMPT_IDS.jsonl SHARD.bin SLM_LOSS LOSS_TOL [MAX_GAP]
//   GENERATED.jsonl: slm generate --output records ({prompt, completion, tokens});
//   PROMPT_IDS.jsonl: slm tokenizer encode --jsonl of the same prompts (a JSON list a line);
//   SHARD.bin: held-out text packed by slm data pack (llm.c format: 256 int32, then uint16);
//   SLM_LOSS: slm eval loss on that shard; LOSS_TOL: the largest |difference| allowed;
//   MAX_GAP: a continuation may part from slm's where llama.cpp's top two probabilities
//   are closer than this, after 8 equal tokens (default 0: never).
import fs from "node:fs";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const [gguf, generatedPath, promptIdsPath, shardPath, slmLossArg, tolArg] = process.argv.slice(2);
const lines = (p) => fs.readFileSync(p, "utf8").split("\n").filter((l) => l.trim() !== "");
const fail = (msg) => {
  console.log(`FAIL: ${msg} (${gguf})`);
  process.exit(1);
};

// The prebuilt binary only: never build llama.cpp, never download anything.
const llama = await getLlama({
  gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, maxThreads: 2,
  logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
const context = await model.createContext({
  // Twice the windows' length: with exactly the model's context, llama.cpp's last window came out different.
  contextSize: 2 * model.trainContextSize, sequences: 1, batchSize: 2 * model.trainContextSize, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",  // slm caches floats: f16 would cost 1e-3 of loss
});
const seq = context.getSequence();

// Greedy decoding from the prompt's ids (no BOS: slm adds none), up to slm's token count
// or an end-of-generation token, which slm stops at too. Each step keeps the gap between
// llama.cpp's two likeliest tokens, to tell a near tie from a real disagreement.
async function greedy(ids, maxTokens) {
  await seq.clearHistory();
  const out = [];
  for await (const r of seq.evaluateWithMetadata(ids, { probabilities: true }, { temperature: 0 })) {
    if (model.isEogToken(r.token)) break;
    const [p1, p2 = 0] = r.probabilities.values();
    out.push({ token: r.token, gap: p1 - p2 });
    if (out.length >= maxTokens) break;
  }
  return out;
}

// int8 runs round differently in llama.cpp and slm (f16 scales for the activations), so
// two near-equal tokens may swap: the texts must agree up to a step where llama.cpp's top
// two were within maxGap of each other; after that the contexts differ and nothing is said.
const maxGap = Number(process.argv[8] ?? 0);
const generated = lines(generatedPath).map((l) => JSON.parse(l));
const promptIds = lines(promptIdsPath).map((l) => JSON.parse(l));
if (generated.length !== promptIds.length) fail("prompt and id files differ in length");
let nearTies = 0;
for (let i = 0; i < generated.length; ++i) {
  const { prompt, completion, tokens } = generated[i];
  const theirs = Array.from(model.tokenize(prompt));
  if (JSON.stringify(theirs) !== JSON.stringify(promptIds[i]))
    fail(`llama.cpp tokenizes ${JSON.stringify(prompt)} as [${theirs}], slm as [${promptIds[i]}]`);
  const steps = await greedy(promptIds[i], tokens);
  const text = model.detokenize(steps.map((s) => s.token));
  if (text === completion) continue;
  // The first step whose text leaves slm's: a near tie there, or a failure.
  let k = 0;
  while (k < steps.length && completion.startsWith(model.detokenize(steps.slice(0, k + 1).map((s) => s.token)))) ++k;
  if (k < steps.length && steps[k].gap < maxGap && k >= 8) {
    ++nearTies;
    continue;
  }
  fail(`greedy continuations differ for ${JSON.stringify(prompt)} at step ${k} (llama.cpp's top-two gap ${steps[k]?.gap}):\n  llama.cpp ${JSON.stringify(text)}\n  slm       ${JSON.stringify(completion)}`);
}
console.log(`ok: llama.cpp's tokens and greedy continuations equal slm's for ${generated.length} prompts` +
  `${nearTies ? ` (${nearTies} up to a near tie)` : ""} (${gguf})`);

// The held-out shard's mean next-token loss from llama.cpp's raw logits, as slm eval loss
// computes it: windows of the model's context, each from an empty cache; every position
// predicts the next id.
function shardTokens(path) {
  const buf = fs.readFileSync(path);
  const header = new Int32Array(buf.buffer, buf.byteOffset, 256);
  if (header[0] !== 20240520 || header[1] !== 1) fail(`${path} is not an llm.c shard of uint16 tokens`);
  return Array.from(new Uint16Array(buf.buffer, buf.byteOffset + 1024, header[2]));
}

async function windowLoss(ids) {  // the summed loss of predicting ids[1..] from ids[..-1]
  await seq.clearHistory();
  const results = await seq.controlledEvaluate(ids.slice(0, -1).map((t) => [t, { generateNext: { logits: true } }]));
  let total = 0;
  for (let i = 0; i + 1 < ids.length; ++i) {
    const logits = results[i]?.next?.logits;
    if (!logits || !logits.has(ids[i + 1])) fail(`no logit for token ${ids[i + 1]} at position ${i}`);
    let max = -Infinity, sum = 0;
    for (const v of logits.values()) max = Math.max(max, v);
    for (const v of logits.values()) sum += Math.exp(v - max);
    total += Math.log(sum) + max - logits.get(ids[i + 1]);
  }
  return total;
}

const ids = shardTokens(shardPath), T = model.trainContextSize;
let total = 0;
for (let s = 0; s + 1 < ids.length; s += T) total += await windowLoss(ids.slice(s, Math.min(s + T + 1, ids.length)));
const loss = total / (ids.length - 1), slmLoss = Number(slmLossArg), tol = Number(tolArg);
if (!(Math.abs(loss - slmLoss) <= tol))
  fail(`loss on held-out text: llama.cpp ${loss.toFixed(6)}, slm ${slmLoss.toFixed(6)} (allowed ±${tol})`);
console.log(`ok: llama.cpp's loss ${loss.toFixed(6)}, slm's ${slmLoss.toFixed(6)} over ${ids.length - 1} tokens`);
await context.dispose();
await model.dispose();
await llama.dispose();
