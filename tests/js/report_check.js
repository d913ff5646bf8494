// Opens an slm evaluation report in headless Chromium (Debian's chromium, driven by
// playwright-core) and checks that the charts are drawn and the page logs no errors.
// Usage: node report_check.js REPORT.html [MIN_MODELS]
const { chromium } = require("playwright-core");

(async () => {
  const [file, minModels = "1"] = process.argv.slice(2);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto("file://" + require("path").resolve(file));
  const facts = await page.evaluate(() => {
    const box = (el) => el.getBoundingClientRect();
    const bars = [...document.querySelectorAll("svg.bars rect.bar")];
    const series = [...document.querySelectorAll("svg.lines path.series")];
    return {
      title: document.title,
      barCharts: document.querySelectorAll("svg.bars").length,
      lineCharts: document.querySelectorAll("svg.lines").length,
      bars: bars.length,
      visibleBars: bars.filter((b) => box(b).width > 0 && box(b).height > 0).length,
      series: series.length,
      drawnSeries: series.filter((p) => p.getTotalLength() > 0).length,
      sampleRows: document.querySelectorAll("table.samples tr").length,
      summaryColumns: document.querySelectorAll("table.summary tr:first-child th").length - 2,
      text: document.body.innerText,
      unexplained: [...document.querySelectorAll("td.figure")].filter((td) => !td.querySelector(".explain").innerText.trim())
        .map((td) => td.dataset.key),
      barLabelsWithoutTip: [...document.querySelectorAll("svg.bars text.label")].filter((t) => t.textContent && !t.querySelector("title") &&
        !t.previousElementSibling?.matches("rect:not(.bar)")).length,
    };
  });
  await browser.close();
  const fail = (msg) => { const { text, ...shown } = facts; console.log("FAIL: " + msg + "\n" + JSON.stringify(shown)); process.exit(1); };
  if (errors.length) fail("console errors: " + errors.join("; "));
  if (facts.barCharts < 1 || facts.visibleBars < 1) fail("no metric bars drawn");
  if (facts.lineCharts < 2 || facts.drawnSeries < 2) fail("the loss curve and few-shot chart are not both drawn");
  if (facts.visibleBars !== facts.bars) fail("some bars have no size");
  if (facts.sampleRows < 2) fail("no sample stories in the table");
  if (facts.summaryColumns < Number(minModels)) fail("fewer models in the summary than expected");
  // The figures speak to people: words, one line each on what they measure, and which way is better.
  for (const words of ["misspelled words", "share of child vocabulary", "reading grade (Flesch-Kincaid)", "validation loss",
                       "higher is better", "lower is better", "What the story figures mean"])
    if (!facts.text.includes(words)) fail(`"${words}" is not shown`);
  const raw = facts.text.match(/\b(age|grammar|diversity|consistency|repetition|instruct|creativity)\.[a-z_0-9]+/);
  if (raw) fail(`a raw metric key is shown: ${raw[0]}`);
  if (facts.unexplained.length) fail("figures without an explanation: " + facts.unexplained.join(", "));
  if (facts.barLabelsWithoutTip) fail(facts.barLabelsWithoutTip + " bar labels without a hover explanation");
  delete facts.text;
  console.log("ok: " + JSON.stringify(facts));
})().catch((e) => { console.log("FAIL: " + e); process.exit(1); });
