// Web UI figures (issue 7), measured in Debian's headless chromium against a local
// jobserver with real Postgres and Redis; prints a Markdown table for bench/RESULTS.md.
//
//   JOBSERVER_BINARY=build/jobserver JOBSERVER_SOURCE_DIR=$PWD BROWSER_TEST_OUT=build/bench-web \
//   DATABASE_URL=... REDIS_URL=... node bench/web_ui.mjs
//
// 1. First paint of each page (performance 'first-paint' / 'first-contentful-paint'),
//    fresh browser context (cold cache) and again in the same context (revalidation).
// 2. Requests while idle: a course page and a learn page with nothing processing, and the
//    learn page after its lessons finished, each watched for 10 s: must be 0.
// 3. Click-to-DOM latency while ten sections generate: "Generate all sections" on a ten-
//    section document, then clicks on section rows; latency from the click's input event
//    time stamp to the row being selected and the lesson panel updated, inside the page.
import http from 'node:http';
import { Env, call, eventually, sleep, uploadViaApi, waitForJob } from '../tests/browser/harness.mjs';
import { coursePdf } from '../tests/browser/pdf.mjs';

const RUNS = Number(process.env.WEB_BENCH_RUNS || 15);
const IDLE_MS = Number(process.env.WEB_BENCH_IDLE_MS || 10000);

function stats(values) {
  const v = [...values].sort((a, b) => a - b);
  const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return { median: q(0.5), p95: q(0.95), max: v[v.length - 1], n: v.length };
}
const ms = (x) => (x === undefined ? "n/a" : `${x.toFixed(1)} ms`);

async function paintOf(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const read = () => {
      const p = Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, e.startTime]));
      if (p['first-contentful-paint'] !== undefined) resolve(p);
      else setTimeout(read, 20);
    };
    read();
  }));
}

async function firstPaint(env, url, label, user) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await env.context(user);
    const page = await ctx.newPage();
    await page.goto(url);
    cold.push((await paintOf(page))['first-contentful-paint']);
    const again = await ctx.newPage();
    await again.goto(url);
    warm.push((await paintOf(again))['first-contentful-paint']);
    await ctx.close();
  }
  return { label, cold: stats(cold), warm: stats(warm) };
}

async function idleRequests(env, url, user, ready) {
  const ctx = await env.context(user);
  const page = await ctx.newPage();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]');
  if (ready) await ready(page);
  await sleep(500);  // let the page settle (a last poll answering)
  const seen = [];
  page.on('request', (r) => seen.push(r.url()));
  await sleep(IDLE_MS);
  await ctx.close();
  return seen.length;
}

async function main() {
  const env = new Env('bench');
  const out = [];
  try {
    await env.setup();
    const api = await env.startServer({ LESSON_CONCURRENCY: '0' });
    const user = 'dev-user-001';
    const up = await uploadViaApi(api, user, coursePdf(10), 'Ten sections');
    await waitForJob(api, user, up.job_id);
    const sections = (await call(api, 'GET', `/sections?document_id=${up.document_id}`, { user })).body.sections;
    if (sections.length !== 10) throw new Error(`expected 10 sections, got ${sections.length}`);
    const learnUrl = `${api.url}/learn.html?document_id=${up.document_id}`;
    const courseUrl = `${api.url}/course.html?id=${up.course.id}`;

    // 1. First paint; the baseline is a minimal page (a heading and one small stylesheet)
    //    served by Node's http module in this process: the floor this machine and browser
    //    give any page at the moment, so the ratio says what the UI adds.
    const baseline = http.createServer((req, res) => {
      const css = req.url === '/b.css';
      res.writeHead(200, { 'Content-Type': css ? 'text/css' : 'text/html', 'Cache-Control': 'no-cache' });
      res.end(css ? 'body{font:15px system-ui;margin:2rem}' :
        '<!doctype html><html><head><link rel="icon" href="data:,"><link rel="stylesheet" href="/b.css"></head><body><h1>Baseline</h1></body></html>');
    });
    await new Promise((r) => baseline.listen(0, '127.0.0.1', r));
    env.cleanups.push(() => baseline.close());
    const paints = [await firstPaint(env, `http://127.0.0.1:${baseline.address().port}/`, 'baseline: minimal page (Node http)', user)];
    for (const [label, url] of [['upload (/)', `${api.url}/`], ['course', courseUrl], ['learn', learnUrl]]) {
      paints.push(await firstPaint(env, url, label, user));
    }

    // 2. Idle requests with nothing processing.
    const idleCourse = await idleRequests(env, courseUrl, user);
    const idleLearn = await idleRequests(env, learnUrl, user);

    // 3. Ten sections generating: the API node queues (LESSON_CONCURRENCY=0); the clicks
    //    are measured while all ten are tracked, then while a worker runs them.
    const ctx = await env.context(user);
    const page = await ctx.newPage();
    await page.goto(learnUrl);
    await page.waitForSelector('body[data-ready="true"]');
    await page.evaluate(() => {
      window.__lat = [];
      window.__longTasks = 0;
      new PerformanceObserver((l) => { window.__longTasks += l.getEntries().length; }).observe({ entryTypes: ['longtask'] });
      // From the input event's time stamp (includes any wait for a busy main thread) to
      // the end of the page's own click handling, after which the row is selected and the
      // lesson panel re-rendered (both synchronous in learn.js).
      document.addEventListener('click', (e) => {
        const li = e.target.closest('#sections li');
        if (li && li.classList.contains('selected')) window.__lat.push(performance.now() - e.timeStamp);
      });
    });
    await page.click('#generate-all');
    await eventually(async () => (await page.locator('.badge.queued, .badge.processing').count()) === 10, 10000, 'ten generating');
    const clickRound = async () => {
      for (const s of sections) {
        await page.click(`li[data-section-id="${s.id}"] button`);
        await sleep(50);
      }
    };
    const requestsBefore = [];
    page.on('request', (r) => requestsBefore.push(r.url()));
    const tQueued = Date.now();
    await clickRound();
    await clickRound();
    const queuedLat = await page.evaluate(() => window.__lat.splice(0));
    const queuedSecs = (Date.now() - tQueued) / 1000;
    const queuedRequests = requestsBefore.length;
    await env.startServer({ HTTP_PORT: '0', UPLOAD_CONCURRENCY: '0', LESSON_CONCURRENCY: '2' });
    const tRun = Date.now();
    let rounds = 0;
    while ((await page.locator('.badge.ready').count()) < 10 && Date.now() - tRun < 60000) {
      await clickRound();
      rounds++;
    }
    const runLat = await page.evaluate(() => window.__lat.splice(0));
    const runSecs = (Date.now() - tRun) / 1000;
    await eventually(async () => (await page.locator('#batch-text').textContent()) === 'All sections have a lesson', 30000, 'batch done');
    const longTasks = await page.evaluate(() => window.__longTasks);
    await sleep(2500);
    const idleAfter = [];
    page.on('request', (r) => idleAfter.push(r.url()));
    await sleep(IDLE_MS);
    await ctx.close();

    out.push('| page | first contentful paint, cold context (median / p95 / max) | same context again (median / p95 / max) | median vs baseline |');
    out.push('|---|---|---|---|');
    for (const p of paints) {
      const ratio = (p.cold.median / paints[0].cold.median).toFixed(2);
      out.push(`| ${p.label} | ${ms(p.cold.median)} / ${ms(p.cold.p95)} / ${ms(p.cold.max)} | ${ms(p.warm.median)} / ${ms(p.warm.p95)} / ${ms(p.warm.max)} | ${ratio}x |`);
    }
    const load = (await import('node:os')).loadavg()[0].toFixed(1);
    out.push(`\nLoad average (1 min) at the end of the run: ${load} on ${(await import('node:os')).cpus().length} CPUs.`);
    out.push(`\n(${RUNS} loads per page and mode.)\n`);
    out.push('| idle check (nothing processing) | requests in ' + `${IDLE_MS / 1000} s |`);
    out.push('|---|---|');
    out.push(`| course page, no upload pending | ${idleCourse} |`);
    out.push(`| learn page, no lesson pending | ${idleLearn} |`);
    out.push(`| learn page after ten lessons finished | ${idleAfter.length} |`);
    out.push('');
    const q = stats(queuedLat);
    const r = stats(runLat);
    out.push('| ten sections generating | clicks | click-to-DOM latency (median / p95 / max) | requests/s while tracking |');
    out.push('|---|---|---|---|');
    out.push(`| all ten queued and tracked (SSE, or one shared poll without it) | ${q.n} | ${ms(q.median)} / ${ms(q.p95)} / ${ms(q.max)} | ${(queuedRequests / queuedSecs).toFixed(2)} |`);
    out.push(`| worker running them (LESSON_CONCURRENCY=2), ${rounds} round(s) in ${runSecs.toFixed(1)} s | ${r.n} | ${ms(r.median)} / ${ms(r.p95)} / ${ms(r.max)} | |`);
    out.push(`\nLong tasks (>50 ms) on the page during the whole run: ${longTasks}.`);
    console.log(out.join('\n'));
  } finally {
    await env.teardown();
  }
}

main().catch((e) => {
  console.error(e.stack || e);
  process.exit(1);
});
