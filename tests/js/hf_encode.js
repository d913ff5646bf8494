// Encodes every record of a JSONL file with Hugging Face tokenizers (the Rust library,
// through @anush008/tokenizers) and prints one JSON list of ids a line, the same form as
// `slm tokenizer encode --jsonl`. Also saves the tokenizer as Hugging Face writes it, so
// that slm's loader is tested on HF's own output.
// Usage: node hf_encode.js TOKENIZER_JSON INPUT_JSONL [RESAVED_JSON]
const fs = require("fs");
const { Tokenizer } = require("@anush008/tokenizers");

async function main() {
  const [tokPath, inPath, resaved] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  const lines = fs.readFileSync(inPath, "utf8").split("\n").filter((l) => l.length > 0);
  const out = [];
  for (const line of lines) {
    const text = JSON.parse(line).text;
    const enc = await tok.encode(text, null, { addSpecialTokens: false });
    out.push("[" + enc.getIds().join(",") + "]");
    // Decoding is checked here too: HF's ByteLevel decoder must give the text back.
    const back = await tok.decode(enc.getIds(), false);
    if (back !== text) {
      console.error("HF decode mismatch for " + JSON.stringify(text) + ": " + JSON.stringify(back));
      process.exit(1);
    }
  }
  process.stdout.write(out.join("\n") + "\n");
  if (resaved) tok.save(resaved, true);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
