// slm serve under load with bad requests mixed in. 64 greedy streaming clients run while
// others send malformed JSON, a huge max_tokens, invalid UTF-8, 10 MB bodies and bytes at
// a crawl; every bad one gets an error (or its connection closed), every good client's
// text equals the same request served alone, the server's memory stays bounded, and it
// goes on serving. Prints p50/p99 latency and the aggregate tokens/s.
// Usage: node serve_load_check.js URL MODEL SERVER_PID   (URL without /v1; no API key)
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');

const [url, model, pid] = process.argv.slice(2);
const N = Number(process.env.SERVE_CLIENTS || 64);
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

async function post(body, headers = {}) {
  return fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
}

// One streaming request; returns its text, completion tokens and seconds.
async function streamed(prompt, maxTokens) {
  const t0 = Date.now();
  const res = await post(JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature: 0, stream: true,
                                          stream_options: { include_usage: true } }));
  assert.equal(res.status, 200, `HTTP ${res.status}`);
  let text = '', tokens = 0;
  for (const line of (await res.text()).split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6));
    if (chunk.usage) tokens = chunk.usage.completion_tokens;
    if (chunk.choices.length) text += chunk.choices[0].text;
  }
  return { text, tokens, secs: (Date.now() - t0) / 1000 };
}

// A client that sends its request a byte every 100 ms for `secs` seconds, then leaves.
function crawler(secs) {
  return new Promise((resolve) => {
    const sock = net.connect(new URL(url).port, '127.0.0.1');
    const req = 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"prompt":';
    let i = 0;
    const timer = setInterval(() => { if (i < req.length) sock.write(req[i++]); }, 100);
    sock.on('error', () => {});
    setTimeout(() => { clearInterval(timer); sock.destroy(); resolve(i); }, secs * 1000);
  });
}

// A bad request: an error status, or (for a body over the limit) the connection closed.
async function bad(what, send, okStatuses) {
  try {
    const res = await send();
    assert.ok(okStatuses.includes(res.status), `${what}: HTTP ${res.status}`);
    const body = await res.json();
    assert.ok(body.error && body.error.message, `${what}: an OpenAI-shaped error`);
    return `${what} ${res.status}`;
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    if (what !== '10 MB body') throw e;
    return `${what} closed`;  // the server stopped reading a body over its limit
  }
}

const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(p * a.length))];

(async () => {
  const words = ['cat', 'dog', 'bird', 'tree', 'ball', 'sun', 'girl', 'boy'];
  const prompts = Array.from({ length: N }, (_, i) => `One day, the ${words[i % 8]} ${'saw '.repeat(i % 4)}`);
  const alone = [];
  for (const p of prompts) alone.push((await streamed(p, 40)).text);
  const rss0 = rssMiB();
  const bigBody = JSON.stringify({ model, prompt: 'x'.repeat(10 << 20) });
  const invalidUtf8 = Buffer.concat([Buffer.from(`{"model":"${model}","prompt":"Once `), Buffer.from([0xff, 0xfe]),
                                     Buffer.from('"}')]);
  const bads = [];
  const t0 = Date.now();
  const good = Promise.all(prompts.map((p) => streamed(p, 40)));
  for (let round = 0; round < 3; ++round) {
    bads.push(bad('malformed JSON', () => post('{"prompt": "Once'), [400]));
    bads.push(bad('huge max_tokens', () => post(JSON.stringify({ model, prompt: 'x', max_tokens: 1e12 })), [400]));
    bads.push(bad('invalid UTF-8', () => post(invalidUtf8), [400]));
    bads.push(bad('10 MB body', () => post(bigBody), [413]));
    bads.push(bad('unknown model', () => post(JSON.stringify({ model: 'nope', prompt: 'x' })), [404]));
  }
  const crawlers = Promise.all(Array.from({ length: 4 }, () => crawler(3)));
  const results = await good;
  const secs = (Date.now() - t0) / 1000;
  const outcomes = await Promise.all(bads);
  await crawlers;
  results.forEach((r, i) => assert.equal(r.text, alone[i], `client ${i}: its text under load differs from alone`));
  const tokens = results.reduce((s, r) => s + r.tokens, 0);
  const lat = results.map((r) => r.secs);
  console.log(`ok: ${N} streaming clients with ${outcomes.length} bad requests and 4 crawling clients mixed in: ` +
              `every text equals its request alone; ${(tokens / secs).toFixed(0)} tokens/s aggregate, ` +
              `latency p50 ${pct(lat, 0.5).toFixed(2)} s, p99 ${pct(lat, 0.99).toFixed(2)} s`);
  console.log(`ok: bad requests answered: ${[...new Set(outcomes)].join(', ')}`);
  // Memory: a second round of the same load must not grow the server much (no leak per request).
  await Promise.all(prompts.map((p) => streamed(p, 40)));
  const rss1 = rssMiB();
  await Promise.all(prompts.map((p) => streamed(p, 40)));
  const rss2 = rssMiB();
  assert.ok(rss2 - rss1 < 32, `memory grows under repeated load: ${rss1.toFixed(0)} -> ${rss2.toFixed(0)} MiB`);
  console.log(`ok: memory bounded (RSS ${rss0.toFixed(0)} MiB before the load, ${rss1.toFixed(0)} / ${rss2.toFixed(0)} MiB after two more rounds)`);
  const after = await streamed(prompts[0], 40);
  assert.equal(after.text, alone[0], 'the server goes on serving');
  const health = await fetch(`${url}/health`);
  assert.equal(health.status, 200);
  console.log('ok: the server still serves and is healthy');
})().catch((e) => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
