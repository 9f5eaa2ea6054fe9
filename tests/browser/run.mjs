// The web UI in a real headless Chromium against real jobserver processes, Postgres and
// Redis: the original's manual test plan, automated (issue 7).
//
//   node tests/browser/run.mjs <upload|learn|redis|isolation|jwt>
//
// Env (set by ctest, see tests/CMakeLists.txt): JOBSERVER_BINARY, JOBSERVER_SOURCE_DIR,
// BROWSER_TEST_OUT (screenshots and server logs), DATABASE_URL, REDIS_URL.
// Each scenario saves <scenario>.png (and <scenario>-failure.png when it fails).
//
// Jobs are made to wait where a scenario needs to see a state: the server the browser
// talks to runs with UPLOAD_CONCURRENCY=0 / LESSON_CONCURRENCY=0 (it queues, runs
// nothing), and a worker-only jobserver (HTTP_PORT=0) on the same schema and Redis prefix
// is started when the scenario lets the work proceed.
import { createHmac } from 'node:crypto';
import { Env, call, check, eventually, sleep, uploadViaApi, waitForJob } from './harness.mjs';
import { coursePdf } from './pdf.mjs';

// Records, in every page of a context, each text the status badges and percentages show,
// so a scenario can check states that pass quickly.
function recordStates() {
  window.__seen = { badges: [], percents: [] };
  const note = () => {
    for (const b of document.querySelectorAll('.badge')) {
      if (b.textContent && b.textContent !== window.__seen.badges.at(-1)) window.__seen.badges.push(b.textContent);
    }
    for (const p of document.querySelectorAll('.upload-card .percent')) {
      const v = parseInt(p.textContent, 10);
      if (!Number.isNaN(v) && v !== window.__seen.percents.at(-1)) window.__seen.percents.push(v);
    }
  };
  new MutationObserver(note).observe(document, { subtree: true, childList: true, characterData: true });
}

const badgeOf = (page, sectionId) => page.locator(`li[data-section-id="${sectionId}"] .badge`);

// (1) upload -> immediate redirect -> processing card with rising progress -> the
// document appears without a reload; a failed upload shows its error and Retry.
async function upload(env) {
  const api = await env.startServer({ UPLOAD_CONCURRENCY: '0', LESSON_CONCURRENCY: '0' });
  const ctx = await env.context('dev-user-001');
  await ctx.addInitScript(recordStates);
  const page = await ctx.newPage();
  env.page = page;
  await page.goto(`${api.url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.selectOption('#course', '__new');
  await page.fill('#course-name', 'Biology 101');
  await page.fill('#title', 'Cell biology');
  await page.setInputFiles('#file', { name: 'cells.pdf', mimeType: 'application/pdf', buffer: coursePdf(4) });
  const clicked = Date.now();
  await page.click('#upload-button');
  await page.waitForURL(/\/course\.html\?id=[0-9a-f-]+&upload_job_id=[0-9a-f-]+/, { timeout: 15000 });
  const redirectMs = Date.now() - clicked;
  console.log(`redirect after upload click: ${redirectMs} ms`);
  const card = page.locator('.upload-card');
  await card.waitFor();
  await eventually(async () => (await card.locator('.badge').textContent()) === 'queued', 15000, 'queued badge');
  // The card opens as "Your upload" and takes the document's title from the first answer
  // of the documents list.
  await eventually(async () => (await card.locator('.upload-title').textContent()) === 'Cell biology', 15000,
    'the card shows the upload title');
  check((await card.locator('.percent').textContent()) === '0%', 'a queued upload shows 0%');
  await page.evaluate(() => { window.__sameDocument = true; });
  await env.screenshot(page, 'processing');

  await env.startServer({ HTTP_PORT: '0', UPLOAD_CONCURRENCY: '1', LESSON_CONCURRENCY: '0' });
  const doc = page.locator('#documents li.document');
  await doc.waitFor({ timeout: 20000 });
  await card.waitFor({ state: 'detached', timeout: 15000 });
  check((await doc.locator('a').textContent()) === 'Cell biology', 'the document is listed by its title');
  check((await doc.locator('.meta').textContent()).startsWith('4 sections'), 'the document shows its sections count');
  check(await page.evaluate(() => window.__sameDocument === true), 'the document appeared without a reload');
  check(!new URL(page.url()).searchParams.has('upload_job_id'), 'the finished upload leaves the URL');
  const seen = await page.evaluate(() => window.__seen);
  console.log(`badges seen: ${seen.badges.join(' > ')}; percents seen: ${seen.percents.join(' > ')}`);
  check(seen.badges[0] === 'queued', 'the first state shown is queued');
  check(seen.percents.every((v, i) => i === 0 || v >= seen.percents[i - 1]), 'progress never goes down');
  await env.screenshot(page);

  // A PDF that cannot be parsed fails: its card shows the error and a Retry button, and
  // Retry queues it again (it fails again: the file is still broken).
  const courseId = new URL(page.url()).searchParams.get('id');
  const form = new FormData();
  form.append('course_id', courseId);
  form.append('title', 'Broken notes');
  form.append('file', new Blob([Buffer.from('%PDF-1.4\nthis is not really a PDF\n')], { type: 'application/pdf' }), 'broken.pdf');
  const broken = await call(api, 'POST', '/upload/pdf-structured', { user: 'dev-user-001', form });
  check(broken.status === 202, `the broken upload is accepted for processing (${broken.status})`);
  await waitForJob(api, 'dev-user-001', broken.body.job_id, 'failed');
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  const failed = page.locator(`.upload-card[data-job-id="${broken.body.job_id}"]`);
  await failed.waitFor();
  check((await failed.locator('.badge').textContent()) === 'failed', 'the failed upload is badged failed');
  const reason = await failed.locator('.upload-error').textContent();
  check(reason.length > 0 && (await failed.locator('.upload-error').isVisible()), 'the failure reason is shown');
  check(await failed.locator('.retry').isVisible(), 'a Retry button is offered');
  await page.evaluate(() => { window.__seen.badges = []; });
  await failed.locator('.retry').click();
  await eventually(async () => (await page.evaluate(() => window.__seen.badges)).includes('queued'), 115000, 'retry queued');
  await eventually(async () => (await failed.locator('.badge').textContent()) === 'failed', 20000, 'the retry to fail again');
  const attempts = (await call(api, 'GET', `/jobs/${broken.body.job_id}`, { user: 'dev-user-001' })).body.attempts;
  console.log(`broken upload: "${reason}", attempts after retry: ${attempts}`);
  await env.screenshot(page, 'failed');
}

// (2) learn page -> click a section -> badge with progress -> click a second section ->
// both queue -> navigate away and back -> state restored -> lessons appear.
async function learn(env) {
  const api = await env.startServer({ UPLOAD_CONCURRENCY: '1', LESSON_CONCURRENCY: '0' });
  const user = 'dev-user-001';
  const up = await uploadViaApi(api, user, coursePdf(4), 'Plant biology');
  await waitForJob(api, user, up.job_id);
  const sections = (await call(api, 'GET', `/sections?document_id=${up.document_id}`, { user })).body.sections;
  check(sections.length === 4, `4 sections (got ${sections.length})`);
  const [first, second, third] = sections;

  const ctx = await env.context(user);
  await ctx.addInitScript(recordStates);
  const page = await ctx.newPage();
  env.page = page;
  await page.goto(`${api.url}/learn.html?document_id=${up.document_id}`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.click(`li[data-section-id="${first.id}"] button`);
  await eventually(async () => /^Generating\.\.\. \d+%$/.test(await badgeOf(page, first.id).textContent()),
    15000, 'first section generating');
  await page.click(`li[data-section-id="${second.id}"] button`);
  await eventually(async () => /^Generating\.\.\. \d+%$/.test(await badgeOf(page, second.id).textContent()),
    15000, 'second section generating');
  check((await badgeOf(page, first.id).textContent()).startsWith('Generating'), 'the first section still generates');
  check(!(await badgeOf(page, third.id).isVisible()), 'an unclicked section has no badge');
  const stored = await page.evaluate(() => Object.entries(sessionStorage)
    .filter(([k]) => k.startsWith('jobserver.learn.')).map(([, v]) => JSON.parse(v))[0]);
  check(stored && Object.keys(stored.jobs).length === 2, 'both jobs are kept in sessionStorage');
  const history = (await call(api, 'GET', '/jobs?type=generate_lesson', { user })).body.jobs;
  check(history.length === 2 && history.every((j) => j.status === 'queued'), 'both lesson jobs are queued on the server');

  // Away (to the course page) and back: the states come from sessionStorage.
  await page.click('#course-link');
  await page.waitForURL(/\/course\.html/);
  await page.waitForSelector('body[data-ready="true"]');
  await page.goBack();
  await page.waitForSelector('body[data-ready="true"]');
  for (const s of [first, second]) {
    check(/^Generating\.\.\. \d+%$/.test(await badgeOf(page, s.id).textContent()), `section ${s.section_number} restored as generating`);
  }
  check(!(await badgeOf(page, third.id).isVisible()), 'the unclicked section is still without a badge');
  check(await page.locator(`li[data-section-id="${second.id}"]`).evaluate((li) => li.classList.contains('selected')),
    'the selected section is restored');

  // Let the work run: both lessons appear without a reload.
  await env.startServer({ HTTP_PORT: '0', UPLOAD_CONCURRENCY: '0', LESSON_CONCURRENCY: '2' });
  for (const s of [first, second]) {
    await eventually(async () => (await badgeOf(page, s.id).textContent()) === 'Ready', 20000, `section ${s.section_number} ready`);
  }
  const lesson = page.locator('#lesson .lesson-body');
  await lesson.waitFor({ timeout: 15000 });
  check((await lesson.locator('.summary').count()) === 1, 'the lesson shows its summary');
  check((await lesson.locator('.concept').count()) > 0, 'the lesson shows concepts');
  const question = lesson.locator('.check-in').first();
  await question.waitFor();
  const option = question.locator('button.option').first();
  if (await option.count()) await option.click();
  else {
    await question.locator('input').fill('my answer');
    await question.locator('button').click();
  }
  check(await question.locator('.feedback .answer').isVisible(), 'answering reveals the right answer');
  check((await question.locator('.feedback .answer').textContent()).startsWith('Answer: '), 'the answer is labelled');

  // Generate all: the batch runs the remaining sections and shows its overall progress.
  await page.click('#generate-all');
  await page.locator('#batch-status').waitFor();
  await eventually(async () => (await page.locator('#batch-text').textContent()) === 'All sections have a lesson',
    30000, 'the batch to finish');
  // Each section's badge follows its own child job; it may take one more update after the batch.
  for (const s of sections) {
    await eventually(async () => (await badgeOf(page, s.id).textContent()) === 'Ready', 10000,
      `section ${s.section_number} ready`);
  }
  check(await page.locator('#batch-progress').evaluate((p) => p.value === 100), 'the batch bar is full');
  const seen = await page.evaluate(() => window.__seen.badges);
  check(seen.some((t) => /^Generating all sections: \d of 4 ready$/.test(t)) ||
        seen.some((t) => /^Generating\.\.\./.test(t)), 'progress was shown');
  await page.click(`li[data-section-id="${third.id}"] button`);
  await lesson.waitFor();
  await env.screenshot(page);
}

// (3) stop Redis -> upload shows an error -> start Redis -> retry works (and, first, a
// file that is not a PDF is refused in words).
async function redis(env) {
  const api = await env.startServer({});
  const ctx = await env.context('dev-user-001');
  const page = await ctx.newPage();
  env.page = page;
  const course = (await call(api, 'POST', '/courses', { user: 'dev-user-001', json: { name: 'Outage course' } })).body;
  await page.goto(`${api.url}/?course_id=${course.id}`);
  await page.waitForSelector('body[data-ready="true"]');
  check((await page.inputValue('#course')) === course.id, 'the course from the URL is chosen');
  // A file that is not a PDF: the server's 415, in words.
  await page.setInputFiles('#file', { name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.from('just text, no PDF') });
  await page.click('#upload-button');
  await page.locator('#upload-error').waitFor({ timeout: 10000 });
  check((await page.locator('#upload-error-text').textContent()) === 'That file is not a PDF. Choose a PDF file.',
    'a non-PDF is refused in words');
  await page.setInputFiles('#file', { name: 'outage.pdf', mimeType: 'application/pdf', buffer: coursePdf(3) });

  let redisDown = false;
  env.cleanups.push(() => { if (redisDown) env.services('start-redis'); });  // never leave it down
  env.services('stop-redis');
  redisDown = true;
  await page.click('#upload-button');
  await eventually(async () => /unavailable/i.test(await page.locator('#upload-error-text').textContent()), 15000,
    'the outage error');
  const text = await page.locator('#upload-error-text').textContent();
  console.log(`error shown while Redis is down: ${text}`);
  check(/unavailable/i.test(text), 'the error says the queue is unavailable');
  check(page.url().endsWith(`/?course_id=${course.id}`), 'no redirect after a failed upload');
  check((await call(api, 'GET', '/jobs', { user: 'dev-user-001' })).body.jobs.length === 0, 'nothing was queued');
  await env.screenshot(page, 'error');

  env.services('start-redis');
  redisDown = false;
  await eventually(async () => (await call(api, 'GET', '/ready')).status === 200, 30000, 'ready again');
  await page.click('#upload-retry');
  await page.waitForURL(/\/course\.html\?id=.*&upload_job_id=/, { timeout: 10000 });
  await page.locator('#documents li.document').waitFor({ timeout: 20000 });
  check((await page.locator('#documents li.document .meta').textContent()).startsWith('3 sections'), 'the retried upload is processed');
  await env.screenshot(page);
}

// (4) two browser contexts as two users upload at once; each sees only their own jobs and
// documents.
async function isolation(env) {
  const api = await env.startServer({ UPLOAD_CONCURRENCY: '2' });
  const users = ['alice', 'bob'];
  const pages = [];
  for (const user of users) {
    const ctx = await env.context(null);
    const page = await ctx.newPage();
    await page.goto(`${api.url}/`);
    await page.waitForSelector('body[data-ready="true"]');
    // The dev user switcher: choosing a user reloads the page as that user.
    await Promise.all([page.waitForNavigation(), page.selectOption('#user-select', user)]);
    await page.waitForSelector('body[data-ready="true"]');
    check((await page.inputValue('#user-select')) === user, `${user} is chosen`);
    pages.push(page);
  }
  env.page = pages[0];
  await Promise.all(pages.map(async (page, i) => {
    await page.selectOption('#course', '__new');
    await page.fill('#course-name', `${users[i]}'s course`);
    await page.fill('#title', `${users[i]}'s notes`);
    await page.setInputFiles('#file', { name: `${users[i]}.pdf`, mimeType: 'application/pdf', buffer: coursePdf(2 + i) });
  }));
  await Promise.all(pages.map((page) => page.click('#upload-button')));
  await Promise.all(pages.map((page) => page.waitForURL(/\/course\.html\?id=.*&upload_job_id=/, { timeout: 10000 })));
  const urls = pages.map((p) => new URL(p.url()));
  await Promise.all(pages.map((page) => page.locator('#documents li.document').waitFor({ timeout: 20000 })));
  // The page drops upload_job_id from its URL once the upload is done (which may be before
  // the URL above was read), so each user's job id comes from the API.
  const jobIds = await Promise.all(users.map(async (user) => {
    const { jobs } = (await call(api, 'GET', '/jobs', { user })).body;
    check(jobs.length === 1, `${user} has one job`);
    return jobs[0].id;
  }));
  for (let i = 0; i < 2; i++) {
    const page = pages[i];
    const docs = await page.locator('#documents li.document a').allTextContents();
    check(docs.length === 1 && docs[0] === `${users[i]}'s notes`, `${users[i]} sees only their document`);
    await page.goto(`${api.url}/`);
    await page.waitForSelector('body[data-ready="true"]');
    const courses = await page.locator('#course-list li a').allTextContents();
    check(courses.length === 1 && courses[0] === `${users[i]}'s course`, `${users[i]} sees only their course`);
    // The other user's course and upload job are not found.
    const other = urls[1 - i];
    await page.goto(`${api.url}/course.html?id=${other.searchParams.get('id')}`);
    await eventually(async () => (await page.locator('#course-title').textContent()) === 'Course not found', 15000, 'foreign course hidden');
    await page.goto(`${api.url}/course.html?id=${urls[i].searchParams.get('id')}&upload_job_id=${jobIds[1 - i]}`);
    await eventually(async () => (await page.locator('.upload-card .upload-error').textContent()) === 'Job not found',
      15000, 'foreign job hidden');
    const jobs = (await call(api, 'GET', '/jobs', { user: users[i] })).body.jobs;
    check(jobs.length === 1 && jobs[0].data.title === `${users[i]}'s notes`, `${users[i]} has one job of their own`);
  }
  await pages[0].goto(urls[0].toString());
  await pages[0].locator('#documents li.document').waitFor();
  await pages[1].goto(urls[1].toString());
  await pages[1].locator('#documents li.document').waitFor();
  await env.screenshot(pages[0], 'alice');
  await env.screenshot(pages[1], 'bob');
  await env.screenshot(pages[0]);
}

// JWT mode: the header asks for a token; a pasted token signs the user in and travels as
// Authorization: Bearer with every request.
async function jwt(env) {
  const secret = 'browser-test-secret-of-forty-bytes-000000';
  const api = await env.startServer({ AUTH_MODE: 'jwt', AUTH_JWT_SECRET: secret });
  const ctx = await env.context(null);
  const page = await ctx.newPage();
  env.page = page;
  const auth = [];
  page.on('request', (r) => { if (r.url().includes('/api/')) auth.push(r.headers().authorization || ''); });
  await page.goto(`${api.url}/`);
  await page.locator('#token-form').waitFor();
  check(await page.locator('#token-input').isVisible(), 'a token field is offered');
  const token = hs256({ sub: 'carol', exp: Math.floor(Date.now() / 1000) + 600 }, secret);
  await page.fill('#token-input', token);
  await Promise.all([page.waitForNavigation(), page.click('#token-form button')]);
  await page.waitForSelector('body[data-ready="true"]');
  check((await page.locator('#signed-in').textContent()) === 'Signed in as carol', 'the token names the user');
  check(auth.length > 0 && auth.slice(-2).every((a) => a === `Bearer ${token}`), 'requests carry the token');
  check((await page.locator('#user-select').count()) === 0, 'no dev user switcher in jwt mode');
  await env.screenshot(page);
}

function hs256(claims, secret) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

const scenarios = { upload, learn, redis, isolation, jwt };

async function main() {
  const name = process.argv[2];
  if (!scenarios[name]) {
    console.error(`usage: run.mjs <${Object.keys(scenarios).join('|')}>`);
    process.exit(2);
  }
  const env = new Env(name);
  const started = Date.now();
  let failed = null;
  try {
    await env.setup();
    await scenarios[name](env);
  } catch (e) {
    failed = e;
    if (env.page) await env.screenshot(env.page, 'failure').catch(() => {});
  } finally {
    await env.teardown();
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failed) {
    console.error(`FAILED browser scenario ${name} after ${secs} s: ${failed.stack || failed}`);
    console.error(`screenshots and server logs: ${env.outDir}`);
    process.exit(1);
  }
  console.log(`browser scenario ${name} passed in ${secs} s; screenshot ${env.outDir}/${name}.png`);
}

main();
