// web/jobs.js under Node's test runner, against a small fake of jobserver's job routes:
// the polling API's results and error strings, subscribeJob over SSE, and its fallback to
// polling when the server has no event stream.
//   node --test tests/browser/jobs_client.test.mjs
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, test } from 'node:test';
import {
  configureJobs, createJobPoller, parseEvent, pollJobStatus, pollMultipleJobs, subscribeJob,
} from '../../web/jobs.js';

/** Jobs whose state advances one step per read: steps[i] is the i-th answer. */
const jobs = new Map();
let sse = false;            // does the fake offer GET /jobs/:id/events?
const requests = [];
let server;

function job(id, status, progress, extra = {}) {
  return { id, type: 'generate_lesson', status, progress, data: {}, result: null, error: null, ...extra };
}

/** Ids the fake treats as malformed (jobserver's are UUIDs). */
const malformed = (id) => id.startsWith('bad');

function current(id) {
  const j = jobs.get(id);
  if (!j) return null;
  const state = j.steps[Math.min(j.reads, j.steps.length - 1)];
  j.reads++;
  return state;
}

before(async () => {
  server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers['x-user-id'] || ''}`);
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let m;
    if (req.method === 'POST' && req.url === '/api/jobs/poll') {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const ids = JSON.parse(body).job_ids;
        // Like jobserver, one malformed id refuses the whole batch.
        if (ids.some(malformed)) return send(400, { error: 'job_ids must be UUIDs', code: 'invalid_id' });
        send(200, { jobs: ids.map(current).filter(Boolean) });
      });
    } else if ((m = req.url.match(/^\/api\/jobs\/([^/]+)\/events$/))) {
      if (!sse || !jobs.has(m[1])) return send(404, { error: 'Not found', code: 'not_found' });
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const steps = jobs.get(m[1]).steps;
      let i = 0;
      res.write(': heartbeat\n\n');
      const next = () => {
        const s = steps[i];
        const type = i === 0 ? 'snapshot' : s.status === 'completed' ? 'completed'
          : s.status === 'failed' ? 'failed' : s.partial ? 'partial' : 'progress';
        res.write(`id: ${i + 1}\nevent: ${type}\ndata: ${JSON.stringify(s)}\n\n`);
        if (++i < steps.length) setTimeout(next, 5);
        else res.end();
      };
      next();
    } else if ((m = req.url.match(/^\/api\/jobs\/([^/]+)$/))) {
      if (malformed(m[1])) return send(400, { error: 'Invalid job id', code: 'invalid_id' });
      const state = current(m[1]);
      if (!state) return send(404, { error: 'Job not found', code: 'not_found' });
      send(200, state);
    } else {
      send(404, { error: 'Not found', code: 'not_found' });
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  configureJobs({ base: `http://127.0.0.1:${server.address().port}/api`, headers: () => ({ 'X-User-ID': 'tester' }) });
});

after(() => server.close());

beforeEach(() => {
  jobs.clear();
  requests.length = 0;
  sse = false;
});

const fast = { interval: 5 };

test('pollJobStatus resolves with the result and reports rising progress', async () => {
  jobs.set('a', { reads: 0, steps: [job('a', 'queued', 0), job('a', 'processing', 40),
    job('a', 'completed', 100, { result: { lesson_id: 'L1' } })] });
  const seen = [];
  const result = await pollJobStatus('a', { ...fast, onProgress: (p) => seen.push(p) });
  assert.deepEqual(result, { lesson_id: 'L1' });
  assert.deepEqual(seen, [0, 40, 100]);
  assert.ok(requests.every((r) => r.endsWith(' tester')), 'every request names the user');
});

test('pollJobStatus rejects with the job error, Job not found, or Job polling timed out', async () => {
  jobs.set('f', { reads: 0, steps: [job('f', 'failed', 20, { error: 'Not a PDF file' })] });
  await assert.rejects(pollJobStatus('f', fast), { message: 'Not a PDF file' });
  await assert.rejects(pollJobStatus('missing', fast), { message: 'Job not found' });
  jobs.set('slow', { reads: 0, steps: [job('slow', 'processing', 10)] });
  await assert.rejects(pollJobStatus('slow', { ...fast, maxAttempts: 3 }), { message: 'Job polling timed out' });
  assert.equal(jobs.get('slow').reads, 3);
});

test('a cancelled poller makes no further requests', async () => {
  jobs.set('c', { reads: 0, steps: [job('c', 'processing', 10)] });
  const cancel = createJobPoller('c', { interval: 20 });
  await new Promise((r) => setTimeout(r, 70));
  cancel();
  await new Promise((r) => setTimeout(r, 10));  // a request already on the wire may land
  const reads = jobs.get('c').reads;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(jobs.get('c').reads, reads);
});

test('pollMultipleJobs polls all jobs in one request and times out naming the pending count', async () => {
  jobs.set('x', { reads: 0, steps: [job('x', 'processing', 50), job('x', 'completed', 100)] });
  jobs.set('y', { reads: 0, steps: [job('y', 'completed', 100)] });
  const all = await pollMultipleJobs(['x', 'y'], fast);
  assert.deepEqual(all.map((j) => j.status), ['completed', 'completed']);
  assert.ok(requests.every((r) => r.startsWith('POST /api/jobs/poll')));
  jobs.set('s1', { reads: 0, steps: [job('s1', 'queued', 0)] });
  jobs.set('s2', { reads: 0, steps: [job('s2', 'queued', 0)] });
  await assert.rejects(pollMultipleJobs(['s1', 's2'], { ...fast, maxAttempts: 2 }),
    { message: 'Polling timed out for 2 job(s)' });
});

test('subscribeJob falls back to shared polling when the server has no event stream', async () => {
  jobs.set('p', { reads: 0, steps: [job('p', 'queued', 0), job('p', 'processing', 30), job('p', 'completed', 100)] });
  jobs.set('q', { reads: 0, steps: [job('q', 'processing', 10), job('q', 'completed', 100)] });
  const updates = [];
  const done = await Promise.all(['p', 'q'].map((id) => new Promise((resolve, reject) => {
    subscribeJob(id, { ...fast, onUpdate: (j) => updates.push(`${j.id}:${j.progress}`), onComplete: resolve, onError: reject });
  })));
  assert.deepEqual(done.map((j) => j.status), ['completed', 'completed']);
  assert.ok(updates.includes('p:30'));
  // Both asked for the stream before the first 404 came back; after it, polling only.
  assert.equal(requests.filter((r) => r.includes('/events')).length, 2);
  assert.ok(requests.some((r) => r.startsWith('POST /api/jobs/poll')));
  jobs.set('r', { reads: 0, steps: [job('r', 'completed', 100)] });
  await new Promise((resolve, reject) => subscribeJob('r', { ...fast, onComplete: resolve, onError: reject }));
  assert.equal(requests.filter((r) => r.includes('/events')).length, 2, 'a later subscription polls at once');
  const count = requests.length;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(requests.length, count, 'no request once nothing is pending');
});

test('subscribeJob reports Job not found for an unknown job', async () => {
  const error = await new Promise((resolve) => subscribeJob('nope', { ...fast, onError: resolve }));
  assert.equal(error.message, 'Job not found');
});

test('a malformed job id fails only its own subscription, not the others polled with it', async () => {
  jobs.set('m', { reads: 0, steps: [job('m', 'processing', 10), job('m', 'completed', 100)] });
  const [good, bad] = await Promise.all([
    new Promise((resolve, reject) => subscribeJob('m', { ...fast, onComplete: resolve, onError: reject })),
    new Promise((resolve) => subscribeJob('bad-null', { ...fast, onError: resolve })),
  ]);
  assert.equal(good.status, 'completed');
  assert.equal(bad.message, 'Job not found');
});

test('parseEvent reads event and data lines and skips comments', () => {
  assert.deepEqual(parseEvent('id: 3\nevent: progress\ndata: {"a":1}'), { type: 'progress', data: '{"a":1}' });
  assert.equal(parseEvent(': heartbeat'), null);
  assert.deepEqual(parseEvent('data: one\ndata: two'), { type: 'message', data: 'one\ntwo' });
});

test('subscribeJob follows a job over SSE when the server offers it, without polling', async () => {
  // A fresh copy of the module: the one above has already learnt that SSE is absent.
  const fresh = await import('../../web/jobs.js?sse');
  fresh.configureJobs({ base: `http://127.0.0.1:${server.address().port}/api`, headers: () => ({ 'X-User-ID': 'tester' }) });
  sse = true;
  jobs.set('s', { reads: 0, steps: [job('s', 'queued', 0), job('s', 'processing', 20, { partial: 'Once upon' }),
    job('s', 'processing', 60), job('s', 'completed', 100, { result: { lesson_id: 'L9' } })] });
  const progress = [];
  const partials = [];
  const done = await new Promise((resolve, reject) => fresh.subscribeJob('s', {
    onUpdate: (j) => progress.push(j.progress), onPartial: (t) => partials.push(t), onComplete: resolve, onError: reject,
  }));
  assert.equal(done.result.lesson_id, 'L9');
  assert.deepEqual(progress, [0, 20, 60, 100]);
  assert.deepEqual(partials, ['Once upon']);
  assert.deepEqual(requests, ['GET /api/jobs/s/events tester']);
  assert.equal(jobs.get('s').reads, 0, 'nothing was polled');
});
