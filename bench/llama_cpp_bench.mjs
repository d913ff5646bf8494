// llama.cpp's side of bench/infer_bench.sh: npm node-llama-cpp's prebuilt CPU llama.cpp
// loads a GGUF slm exported and times a prompt and greedy decoding, as bench_infer does
// for slm (same token ids, best of three), then prints one RESULT line.
// Usage: node llama_cpp_bench.mjs MODEL.gguf THREADS PROMPT DECODE VOCAB [f32|f16] (KV cache, as llama_bench.c)
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { getLlama, LlamaLogLevel } = await import(
  path.join(here, "../tests/js/node_modules/node-llama-cpp/dist/index.js"));

const [gguf, threadsArg, promptArg, decodeArg, vocabArg, kvArg = "f32"] = process.argv.slice(2);
const kvType = kvArg === "f16" ? "F16" : "F32";
const threads = Number(threadsArg), nPrompt = Number(promptArg), nDecode = Number(decodeArg);
// The prebuilt binary only: never build llama.cpp, never download anything.
const llama = await getLlama({
  gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
  maxThreads: threads, logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
const context = await model.createContext({
  contextSize: nPrompt + nDecode, sequences: 1, batchSize: nPrompt, threads: { ideal: threads, min: threads },
  flashAttention: false,
  // As slm: fp32 keys and values for fp32 models; for q8 ones 16-bit (slm bf16, llama.cpp f16).
  experimentalKvCacheKeyType: kvType, experimentalKvCacheValueType: kvType,
});
const seq = context.getSequence();
const vocab = Number(vocabArg);
const prompt = Array.from({ length: nPrompt }, (_, i) => (i * 7919 + 11) % (vocab - 1));

// The clock: wall time, or with BENCH_CLOCK=cpu the process's CPU time (as bench_infer).
const cpuClock = process.env.BENCH_CLOCK === "cpu";
const now = () => {
  if (!cpuClock) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let bestPrompt = Infinity, bestDecode = Infinity;
for (let rep = 0; rep < 3; ++rep) {
  await seq.clearHistory();
  let t0 = now();
  await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, nPrompt - 1));
  bestPrompt = Math.min(bestPrompt, now() - t0);
  // The prompt's last token, then nDecode greedy steps (the first includes that token's pass).
  t0 = now();
  let n = 0;
  for await (const _ of seq.evaluate([prompt[nPrompt - 1]], { temperature: 0 })) if (++n >= nDecode) break;
  bestDecode = Math.min(bestDecode, now() - t0);
}
const peakMb = process.resourceUsage().maxRSS / 1024;
console.log(`RESULT prompt_tps=${((nPrompt - 1) / bestPrompt * 1000).toFixed(1)} ` +
  `decode_tps=${(nDecode / bestDecode * 1000).toFixed(1)} peak_mb=${peakMb.toFixed(0)}`);
await context.dispose();
await model.dispose();
await llama.dispose();
