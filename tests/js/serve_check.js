// Checks slm serve with the official OpenAI client. Usage: node serve_check.js URL KEY SMALL_URL
// URL serves "story" (pre-trained) and "tuned" (fine-tuned, Alpaca template) with API key
// KEY; SMALL_URL serves one model with one slot and a queue of one (for 429).
const mod = require('openai');
const OpenAI = mod.OpenAI || mod.default || mod;
const assert = require('node:assert/strict');

const [url, key, smallUrl] = process.argv.slice(2);
const client = new OpenAI({ baseURL: url, apiKey: key, maxRetries: 0 });

async function text(model, prompt, extra = {}) {
  const r = await client.completions.create({ model, prompt, temperature: 0, max_tokens: 40, ...extra });
  return r;
}

async function streamed(model, prompt, extra = {}) {
  const s = await client.completions.create({ model, prompt, temperature: 0, max_tokens: 40, stream: true, ...extra });
  let out = '', finish = null;
  for await (const chunk of s) {
    out += chunk.choices[0].text;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  return { text: out, finish };
}

async function expectError(promise, status, param, what) {
  try {
    await promise;
  } catch (e) {
    assert.equal(e.status, status, `${what}: status ${e.status}: ${e.message}`);
    if (param !== undefined) assert.equal(e.param, param, `${what}: param`);
    assert.ok(e.error && e.error.message, `${what}: an OpenAI-shaped error body`);
    return e;
  }
  assert.fail(`${what}: expected HTTP ${status}, the request succeeded`);
}

async function main() {
  const models = (await client.models.list()).data.map((m) => m.id).sort();
  assert.deepEqual(models, ['story', 'tuned']);
  console.log('ok: models.list names both models');

  // Completions, with usage, and the same text streamed.
  const a = await text('story', 'Once upon a time');
  assert.equal(a.object, 'text_completion');
  assert.ok(a.choices[0].text.length > 0, 'some text');
  assert.ok(['length', 'stop'].includes(a.choices[0].finish_reason));
  assert.ok(a.usage.prompt_tokens > 0 && a.usage.completion_tokens > 0);
  assert.equal(a.usage.total_tokens, a.usage.prompt_tokens + a.usage.completion_tokens);
  const s = await streamed('story', 'Once upon a time');
  assert.equal(s.text, a.choices[0].text, 'streamed text equals the whole response');
  assert.equal(s.finish, a.choices[0].finish_reason);
  console.log('ok: completions, streamed and not, give the same greedy text');

  // Stop strings: the text ends before the stop string, streamed or not.
  const full = a.choices[0].text;
  const stop = full.slice(5, 8);
  const cut = await text('story', 'Once upon a time', { stop: [stop] });
  assert.equal(cut.choices[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, 'stop');
  assert.equal((await streamed('story', 'Once upon a time', { stop })).text, cut.choices[0].text);
  console.log(`ok: stop ${JSON.stringify(stop)} ends the text before it, streamed and not`);

  // n choices, and a seed repeats a sampled text.
  const many = await text('story', 'The dog', { n: 3, temperature: 1, seed: 7 });
  assert.equal(many.choices.length, 3);
  const again = await text('story', 'The dog', { n: 3, temperature: 1, seed: 7 });
  assert.deepEqual(again.choices.map((c) => c.text), many.choices.map((c) => c.text), 'same seed, same samples');
  console.log('ok: n=3 gives three choices; a seed repeats them');

  // logprobs (the legacy completions form): tokens that spell the text, offsets from the
  // prompt's start, the chosen token the likeliest when greedy; the same streamed.
  const lp = await text('story', 'Once upon a time', { logprobs: 3, max_tokens: 20 });
  const l = lp.choices[0].logprobs;
  assert.equal(l.tokens.join(''), lp.choices[0].text, 'the tokens spell the text');
  assert.equal(l.text_offset[0], 'Once upon a time'.length, 'offsets count from the start of the prompt');
  l.token_logprobs.forEach((v, i) => {
    assert.ok(v <= 0, 'a log-probability');
    const top = Object.values(l.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 3);
    assert.ok(Math.abs(Math.max(...top) - v) < 1e-5, 'greedy: the chosen token is the likeliest');
  });
  const ls = await client.completions.create({ model: 'story', prompt: 'Once upon a time', temperature: 0, max_tokens: 20,
                                               logprobs: 3, stream: true });
  const streamedTokens = [];
  for await (const chunk of ls) if (chunk.choices[0].logprobs) streamedTokens.push(...chunk.choices[0].logprobs.tokens);
  assert.deepEqual(streamedTokens, l.tokens, 'streamed logprobs carry the same tokens');
  await expectError(client.chat.completions.create({ model: 'tuned', messages: [{ role: 'user', content: 'x' }], logprobs: true }),
                    400, 'logprobs', 'chat logprobs');
  console.log(`ok: logprobs: ${l.tokens.length} tokens spell the text, streamed and not; chat logprobs is a 400`);

  // Chat: the tuned model's Alpaca template, so the reply equals a completion of that prompt.
  const question = 'Write a story about a cat.';
  const chat = await client.chat.completions.create({
    model: 'tuned', messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 30,
  });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.role, 'assistant');
  const alpaca = 'Below is an instruction that describes a task. Write a response that appropriately completes the ' +
    `request.\n\n### Instruction:\n${question}\n\n### Response:`;
  const direct = await text('tuned', alpaca, { max_tokens: 30, stop: ['\n### Instruction:'] });
  assert.equal(chat.choices[0].message.content, direct.choices[0].text, 'chat applies the Alpaca template');
  assert.equal(chat.usage.prompt_tokens, direct.usage.prompt_tokens);
  const cs = await client.chat.completions.create({
    model: 'tuned', messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 30, stream: true,
    stream_options: { include_usage: true },
  });
  let chatText = '', usage = null, role = null;
  for await (const chunk of cs) {
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length && chunk.choices[0].delta.role) role = chunk.choices[0].delta.role;
    if (chunk.choices.length) chatText += chunk.choices[0].delta.content || '';
  }
  assert.equal(chatText, chat.choices[0].message.content, 'streamed chat equals the whole reply');
  assert.equal(role, 'assistant');
  assert.deepEqual(usage, chat.usage, 'include_usage sends the usage last');
  console.log('ok: chat uses the Alpaca template; streamed chat with usage equals the whole reply');

  // Errors, each OpenAI-shaped.
  await expectError(text('story', 'x', { temperature: 5 }), 400, 'temperature', 'temperature out of range');
  await expectError(client.chat.completions.create({ model: 'tuned', messages: [] }), 400, 'messages', 'no messages');
  await expectError(text('story', 'x', { max_tokens: 'lots' }), 400, 'max_tokens', 'max_tokens not a number');
  await expectError(text('nope', 'x'), 404, 'model', 'unknown model');
  await expectError(text('story', 'Once upon a time '.repeat(300)), 413, 'prompt', 'prompt longer than the context');
  const wrong = new OpenAI({ baseURL: url, apiKey: 'wrong', maxRetries: 0 });
  await expectError(wrong.models.list(), 401, undefined, 'wrong API key');
  await expectError(wrong.completions.create({ model: 'story', prompt: 'x' }), 401, undefined, 'wrong API key');
  const bad = await fetch(`${url}/completions`, {
    method: 'POST', headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: '{"prompt": ',
  });
  assert.equal(bad.status, 400);
  assert.ok((await bad.json()).error.message.includes('JSON'));
  console.log('ok: 400 names the field, 401 wrong key, 404 unknown model, 413 long prompt, 400 bad JSON');

  // A queue of one with one slot: a burst gets 429s, and every accepted request completes.
  const small = new OpenAI({ baseURL: smallUrl, apiKey: 'none', maxRetries: 0 });
  const burst = await Promise.allSettled(Array.from({ length: 6 }, (_, i) =>
    small.completions.create({ model: 'pre', prompt: `The cat ${i}`, temperature: 0, max_tokens: 200 })));
  const refused = burst.filter((r) => r.status === 'rejected');
  assert.ok(refused.length > 0, 'some requests of the burst are refused');
  for (const r of refused) assert.equal(r.reason.status, 429, String(r.reason));
  assert.ok(burst.some((r) => r.status === 'fulfilled'), 'the first request is served');
  console.log(`ok: a full queue answers 429 (${refused.length} of 6)`);

  // Continuous batching: concurrent greedy streams each equal the same request alone.
  const N = Number(process.env.SERVE_CLIENTS || 64);
  const words = ['cat', 'dog', 'bird', 'tree', 'ball', 'sun', 'girl', 'boy'];
  const prompts = Array.from({ length: N }, (_, i) => `Once upon a time, the ${words[i % 8]} ${'was '.repeat(i % 5)}`);
  const alone = [];
  for (const p of prompts) alone.push((await text('story', p, { max_tokens: 48 })).choices[0].text);
  const t0 = Date.now();
  const together = await Promise.all(prompts.map((p) => streamed('story', p, { max_tokens: 48 })));
  const secs = (Date.now() - t0) / 1000;
  together.forEach((r, i) => assert.equal(r.text, alone[i], `client ${i}: batched text differs from alone`));
  const m = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
  assert.match(m, /slm_completion_tokens_total\{model="story"\} \d+/);
  assert.match(m, /slm_request_seconds_bucket\{endpoint="\/v1\/completions",le="\+Inf"\} \d+/);
  console.log(`ok: ${N} concurrent greedy streams equal each request alone (${secs.toFixed(2)} s)`);
}

main().catch((e) => {
  console.error('FAIL:', e.stack || e);
  process.exit(1);
});
