// The anchor of bench/serve_bench.sh: llama.cpp (npm node-llama-cpp's prebuilt CPU
// binary) serving the same GGUF over the same HTTP API the benchmark's clients use:
// POST /v1/completions with stream: true, greedy, max_tokens, server-sent events ending
// with a usage chunk and "data: [DONE]". One llama.cpp context with a sequence per client;
// node-llama-cpp batches the sequences' tokens into shared decode steps, as llama.cpp's
// own server does with --parallel. Prints "listening on http://127.0.0.1:PORT" once ready.
// Usage: node bench/llama_serve.mjs MODEL.gguf SEQUENCES THREADS
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// node-llama-cpp is installed under tests/js (the project's one npm folder).
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../tests/js/package.json"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));

const [gguf, sequencesArg, threadsArg] = process.argv.slice(2);
const sequences = Number(sequencesArg), threads = Number(threadsArg);
const llama = await getLlama({
  gpu: false, build: "never", usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, maxThreads: threads,
  logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath: gguf, gpuLayers: 0 });
// llama.cpp keeps one KV cache for all sequences and a decode step attends over all of
// its cells (masked), so the cache is sized to what the benchmark needs: 128 tokens a
// sequence (a prompt of about 10 tokens and 64 new ones), not the model's whole context.
const perSequence = Number(process.env.LLAMA_TOKENS_PER_SEQUENCE || 128);
const context = await model.createContext({
  sequences, contextSize: sequences * perSequence, batchSize: Math.max(512, sequences * 16), threads,
});
const free = Array.from({ length: sequences }, () => context.getSequence());
const waiting = [];  // requests waiting for a free sequence
const take = () => (free.length ? Promise.resolve(free.pop()) : new Promise((resolve) => waiting.push(resolve)));
const give = (seq) => (waiting.length ? waiting.shift()(seq) : free.push(seq));

async function complete(req, res, body) {
  const seq = await take();
  try {
    await seq.clearHistory();
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const prompt = Array.from(model.tokenize(body.prompt));
    let n = 0, finish = "length";
    const send = (j) => res.write(`data: ${JSON.stringify(j)}\n\n`);
    const detok = [];
    for await (const token of seq.evaluate(prompt, { temperature: 0 })) {
      if (model.isEogToken(token)) { finish = "stop"; break; }
      detok.push(token);
      send({ object: "text_completion", choices: [{ index: 0, text: model.detokenize([token]), finish_reason: null }] });
      if (++n >= body.max_tokens) break;
    }
    send({ object: "text_completion", choices: [{ index: 0, text: "", finish_reason: finish }] });
    send({ object: "text_completion", choices: [], usage: { prompt_tokens: prompt.length, completion_tokens: n,
                                                            total_tokens: prompt.length + n } });
    res.end("data: [DONE]\n\n");
  } finally {
    give(seq);
  }
}

const server = http.createServer((req, res) => {
  let data = "";
  req.on("data", (d) => { data += d; });
  req.on("end", () => {
    if (req.method !== "POST" || req.url !== "/v1/completions") { res.writeHead(404); res.end(); return; }
    complete(req, res, JSON.parse(data)).catch((e) => { console.error(e); res.destroy(); });
  });
});
server.listen(0, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
