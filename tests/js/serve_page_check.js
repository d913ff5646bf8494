// The story playground of slm serve in headless Chromium (Debian's chromium through
// playwright-core): ask for a story and see it stream in, rate it with the mouse and the
// keyboard, edit it, save; in the arena, two stories for one request side by side and a
// pick (two models, then two samples of one model); on a phone-sized screen nothing
// overflows; no console errors.
// Usage: node serve_page_check.js URL SCREENSHOT_DIR
const { chromium } = require('playwright-core');
const assert = require('node:assert/strict');

(async () => {
  const [url, shots] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#model option').length > 0);
  await page.selectOption('#model', 'tuned');
  await page.fill('#request', 'Write a story about a cat and a hat.');
  // Count the updates of the story box: streamed text arrives in more than one piece. The
  // network is throttled for this request (20 KB/s, Chromium's own emulation), so that a
  // server which finishes the whole story before the browser first reads (a loaded CI
  // machine: once only 2 updates) still reaches the page in many reads, as it would over a
  // real network.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: 20 * 1024, uploadThroughput: -1 });
  await page.evaluate(() => {
    window.updates = 0;
    new MutationObserver((records) => { window.updates += records.length; }).observe(document.getElementById('story'), { childList: true, characterData: true, subtree: true });
  });
  await page.click('#write');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Done'), null, { timeout: 60000 });
  const story = await page.textContent('#story');
  assert.ok(story.trim().length > 0, 'a story is shown');
  const updates = await page.evaluate(() => window.updates);
  assert.ok(updates > 2, `the story streams in (${updates} updates of ${JSON.stringify(story)})`);
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  for (const f of ['grammar', 'creativity', 'consistency', 'age_appropriate']) await page.click(`label[for=${f}4]`);
  await page.focus('#plot1');  // the keyboard: arrow keys move along a star row
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.querySelector('input[name=plot]:checked').value), '2');
  await page.click('label[for=up]');
  await page.fill('#edited', story.trim() + ' The end.');
  await page.screenshot({ path: `${shots}/page.png`, fullPage: true });
  await page.click('#save');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Saved'));

  // The arena, reached by the keyboard: arrow keys move between the tabs.
  await page.focus('#tab-story');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-arena');
  assert.ok(await page.isVisible('#view-arena') && !(await page.isVisible('#view-story')), 'the arena view shows');
  for (const [a, b, winner] of [['story', 'tuned', 'a'], ['tuned', 'tuned', 'b']]) {
    await page.selectOption('#model-a', a);
    await page.selectOption('#model-b', b);
    await page.click('#write-two');
    await page.waitForFunction(() => document.getElementById('arena-status').textContent.startsWith('Done'), null, { timeout: 60000 });
    const [ta, tb] = [await page.textContent('#story-a'), await page.textContent('#story-b')];
    assert.ok(ta.trim() && tb.trim(), 'both stories are shown');
    if (a === b) assert.notEqual(ta, tb, 'two samples of one model differ (different seeds)');
    await page.focus(`.picks button[data-winner=${winner}]`);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('arena-status').textContent.startsWith('Saved'));
  }
  await page.screenshot({ path: `${shots}/arena.png`, fullPage: true });
  // A sampled story can hold a long run without spaces (a clean-clone run once overflowed
  // the phone's width by 106px, and passed again on rerun): put one in each story box.
  await page.evaluate(() => {
    for (const id of ['story', 'story-a', 'story-b']) document.getElementById(id).textContent += ' ' + 'ha'.repeat(120);
  });
  await page.setViewportSize({ width: 375, height: 700 });
  // Measure once the page has laid out at the new width: on a loaded machine the first
  // evaluate was seen to run before it (overflow 672px, the desktop width's).
  await page.waitForFunction(() => window.innerWidth === 375 && document.documentElement.clientWidth <= 375);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `fits a phone's width (overflow ${overflow}px)`);
  await page.screenshot({ path: `${shots}/phone.png`, fullPage: true });
  await browser.close();
  assert.deepEqual(errors, [], 'no console errors');
  console.log(`ok: the page streams a story (${updates} updates), rates it by mouse and keyboard, saves it; ` +
              'two arena picks (two models, two samples) by keyboard; fits 375px');
})().catch((e) => { console.log('FAIL: ' + (e.stack || e)); process.exit(1); });
