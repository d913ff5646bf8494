// The anchor for encoding speed: tiktoken (npm, WASM) with GPT-2's encoding, one thread,
// on the same text. Usage: node tiktoken_encode.js TEXT_FILE [REPEATS]
const fs = require("fs");
const { get_encoding } = require("tiktoken");
const text = fs.readFileSync(process.argv[2], "utf8");
const repeats = Number(process.argv[3] || 3);
const enc = get_encoding("gpt2");
let best = Infinity, n = 0;
for (let r = 0; r < repeats; r++) {
  const t0 = process.hrtime.bigint();
  n = enc.encode_ordinary(text).length;
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
}
const mb = Buffer.byteLength(text) / 1e6;
console.log(`tiktoken gpt2 encode: ${mb.toFixed(1)} MB in ${best.toFixed(3)} s = ${(mb / best).toFixed(1)} MB/s, ${n} tokens (1 thread)`);
enc.free();
