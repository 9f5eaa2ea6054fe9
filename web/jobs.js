// jobs.js — the browser client for jobserver's background jobs.
//
// The polling API is the original front end's (same names, options, defaults and error
// strings): pollJobStatus, pollMultipleJobs, createJobPoller. subscribeJob adds push:
// it streams `GET /jobs/:id/events` (Server-Sent Events) when the server offers it and
// falls back to polling when it does not. The stream is read with fetch() rather than
// EventSource because EventSource cannot send the Authorization / X-User-ID header.
// Polling subscriptions share one timer and one `POST /jobs/poll` per tick, and the timer
// stops when nothing is pending: an idle page makes no requests.

/**
 * A job as `GET /jobs/:id` answers it.
 * @typedef {Object} Job
 * @property {string} id
 * @property {string} type
 * @property {'queued'|'processing'|'completed'|'failed'} status
 * @property {number} progress 0-100; 100 means the result is committed
 * @property {Object|null} data
 * @property {Object|null} result
 * @property {string|null} error
 * @property {string} [partial] text streamed so far by an LLM (lesson jobs)
 */

/**
 * @typedef {Object} PollOptions
 * @property {number} [interval=2000] milliseconds between polls
 * @property {number} [maxAttempts=150] polls before giving up
 * @property {(progress: number, job: Job) => void} [onProgress]
 * @property {(result: Object|null, job: Job) => void} [onComplete]
 * @property {(error: Error, job?: Job) => void} [onError]
 */

/**
 * @typedef {Object} MultiPollOptions
 * @property {number} [interval=2000]
 * @property {number} [maxAttempts=150]
 * @property {(jobs: Job[]) => void} [onProgress] every poll, with the jobs known so far
 * @property {(jobs: Job[]) => void} [onComplete] once every job is completed or failed
 * @property {(error: Error) => void} [onError]
 */

/**
 * @typedef {Object} SubscribeHandlers
 * @property {(job: Job) => void} [onUpdate] every snapshot and progress change
 * @property {(text: string, job: Job) => void} [onPartial] streamed LLM text (SSE only)
 * @property {(job: Job) => void} [onComplete]
 * @property {(error: Error, job?: Job) => void} [onError] the job failed, is gone, or
 *   polling timed out
 * @property {number} [interval=2000] polling interval when SSE is not available
 * @property {number} [maxAttempts=150] polls before 'Job polling timed out'
 */

export const DEFAULT_INTERVAL = 2000;
export const DEFAULT_MAX_ATTEMPTS = 150;

const config = { base: '/api', headers: () => ({}) };

/**
 * Where the API is and which headers identify the user (called once by the pages).
 * @param {{base?: string, headers?: () => Object<string,string>}} options
 */
export function configureJobs(options) {
  if (options.base !== undefined) config.base = options.base;
  if (options.headers !== undefined) config.headers = options.headers;
}

const isTerminal = (job) => job.status === 'completed' || job.status === 'failed';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @returns {Promise<Job>} the job, or an Error('Job not found') on 404. */
async function fetchJob(jobId, signal) {
  const response = await fetch(`${config.base}/jobs/${encodeURIComponent(jobId)}`, {
    headers: config.headers(),
    signal,
  });
  if (response.status === 404) throw new Error('Job not found');
  if (!response.ok) throw new Error(await errorText(response));
  return response.json();
}

/** @returns {Promise<Job[]>} the jobs the server knows of among `ids` (foreign ids are left out). */
async function fetchJobs(ids, signal) {
  const jobs = [];
  for (let i = 0; i < ids.length; i += 100) {
    const response = await fetch(`${config.base}/jobs/poll`, {
      method: 'POST',
      headers: { ...config.headers(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ job_ids: ids.slice(i, i + 100) }),
      signal,
    });
    if (!response.ok) throw requestError(response, await errorText(response));
    jobs.push(...(await response.json()).jobs);
  }
  return jobs;
}

/**
 * Like fetchJobs, asking for each job alone: the server refuses a whole batch (400) when
 * one id in it is malformed, and that must fail only the subscription that holds it.
 * Ids answered 400 or 404 are left out (they become 'Job not found').
 */
async function fetchEach(ids, signal) {
  const jobs = [];
  for (const id of ids) {
    const response = await fetch(`${config.base}/jobs/${encodeURIComponent(id)}`, {
      headers: config.headers(),
      signal,
    });
    if (response.status === 400 || response.status === 404) {
      try { await response.body?.cancel(); } catch (_) { /* already closed */ }
      continue;
    }
    if (!response.ok) throw requestError(response, await errorText(response));
    jobs.push(await response.json());
  }
  return jobs;
}

function requestError(response, message) {
  const error = new Error(message);
  error.status = response.status;
  return error;
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (_) { /* not JSON */ }
  return `Request failed (${response.status})`;
}

function failure(job) {
  const error = new Error(job.error || 'Job failed');
  error.job = job;
  return error;
}

/**
 * Polls one job until it completes or fails.
 * @param {string} jobId
 * @param {PollOptions} [options]
 * @returns {Promise<Object|null>} the job's result; rejects with the job's error,
 *   'Job not found' or 'Job polling timed out'
 */
export function pollJobStatus(jobId, options = {}) {
  return new Promise((resolve, reject) => {
    createJobPoller(jobId, {
      ...options,
      onComplete: (result, job) => {
        if (options.onComplete) options.onComplete(result, job);
        resolve(result);
      },
      onError: (error, job) => {
        if (options.onError) options.onError(error, job);
        reject(error);
      },
    });
  });
}

/**
 * Starts polling one job; the returned function stops it.
 * @param {string} jobId
 * @param {PollOptions} [options]
 * @returns {() => void} cancel
 */
export function createJobPoller(jobId, options = {}) {
  const interval = options.interval ?? DEFAULT_INTERVAL;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const controller = new AbortController();
  let cancelled = false;
  (async () => {
    for (let attempt = 1; !cancelled; attempt++) {
      let job;
      try {
        job = await fetchJob(jobId, controller.signal);
      } catch (error) {
        if (cancelled) return;
        if (options.onError) options.onError(error);
        return;
      }
      if (cancelled) return;
      if (options.onProgress) options.onProgress(job.progress, job);
      if (job.status === 'completed') {
        if (options.onComplete) options.onComplete(job.result, job);
        return;
      }
      if (job.status === 'failed') {
        if (options.onError) options.onError(failure(job), job);
        return;
      }
      if (attempt >= maxAttempts) {
        if (options.onError) options.onError(new Error('Job polling timed out'), job);
        return;
      }
      await sleep(interval);
    }
  })();
  return () => {
    cancelled = true;
    controller.abort();
  };
}

/**
 * Polls several jobs with one request per interval until all have finished.
 * @param {string[]} jobIds
 * @param {MultiPollOptions} [options]
 * @returns {Promise<Job[]>} every job in its final state; rejects with
 *   'Polling timed out for N job(s)'
 */
export async function pollMultipleJobs(jobIds, options = {}) {
  const interval = options.interval ?? DEFAULT_INTERVAL;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const known = new Map();
  let pending = [...new Set(jobIds)];
  for (let attempt = 1; pending.length > 0; attempt++) {
    let jobs;
    try {
      jobs = await fetchJobs(pending);
    } catch (error) {
      if (options.onError) options.onError(error);
      throw error;
    }
    const answered = new Set(jobs.map((j) => j.id));
    for (const job of jobs) known.set(job.id, job);
    for (const id of pending) {
      if (!answered.has(id)) known.set(id, { id, status: 'failed', progress: 0, error: 'Job not found' });
    }
    pending = pending.filter((id) => !isTerminal(known.get(id)));
    if (options.onProgress) options.onProgress([...known.values()]);
    if (pending.length === 0) break;
    if (attempt >= maxAttempts) {
      const error = new Error(`Polling timed out for ${pending.length} job(s)`);
      if (options.onError) options.onError(error);
      throw error;
    }
    await sleep(interval);
  }
  const all = jobIds.map((id) => known.get(id));
  if (options.onComplete) options.onComplete(all);
  return all;
}

// ---- subscribeJob: SSE when offered, else one shared poller --------------------------

/** 'unknown' until the first stream answers; 'absent' after a 404 (no SSE route). */
let sseState = 'unknown';

/** Whether subscribeJob will try Server-Sent Events first. */
export function sseAvailable() {
  return sseState !== 'absent';
}

/**
 * Follows a job until it completes or fails: over SSE (`GET /jobs/:id/events`) when the
 * server offers it, otherwise by polling (shared with every other subscription of the
 * page). Handlers are called at most once for the terminal state.
 * @param {string} jobId
 * @param {SubscribeHandlers} [handlers]
 * @returns {() => void} unsubscribe
 */
export function subscribeJob(jobId, handlers = {}) {
  const sub = { jobId, handlers, done: false, attempts: 0, lastProgress: -1, lastStatus: '' };
  const controller = new AbortController();
  sub.stop = () => {
    sub.done = true;
    controller.abort();
    hub.remove(sub);
  };
  if (sseAvailable() && typeof ReadableStream !== 'undefined') {
    streamJob(sub, controller.signal).then((outcome) => {
      if (outcome === 'fallback' && !sub.done) hub.add(sub);
    });
  } else {
    hub.add(sub);
  }
  return sub.stop;
}

/** Delivers one job state to a subscription; true when it was terminal. */
function deliver(sub, job, kind) {
  if (sub.done) return true;
  const { handlers } = sub;
  if (kind === 'partial' && handlers.onPartial && typeof job.partial === 'string') {
    handlers.onPartial(job.partial, job);
  }
  if (job.progress !== sub.lastProgress || job.status !== sub.lastStatus || kind === 'snapshot') {
    sub.lastProgress = job.progress;
    sub.lastStatus = job.status;
    if (handlers.onUpdate) handlers.onUpdate(job);
  }
  if (job.status === 'completed') {
    sub.stop();
    if (handlers.onComplete) handlers.onComplete(job);
    return true;
  }
  if (job.status === 'failed') {
    sub.stop();
    if (handlers.onError) handlers.onError(failure(job), job);
    return true;
  }
  return false;
}

function fail(sub, error) {
  if (sub.done) return;
  sub.stop();
  if (sub.handlers.onError) sub.handlers.onError(error);
}

/**
 * Reads the job's event stream. Resolves 'done' when the job finished or the caller
 * unsubscribed, 'fallback' when polling must take over (no SSE route, an error before
 * the first event, or a stream that ended before the job did).
 */
async function streamJob(sub, signal) {
  let response;
  try {
    response = await fetch(`${config.base}/jobs/${encodeURIComponent(sub.jobId)}/events`, {
      headers: { ...config.headers(), Accept: 'text/event-stream' },
      signal,
    });
  } catch (_) {
    return sub.done ? 'done' : 'fallback';
  }
  const type = response.headers.get('Content-Type') || '';
  if (response.status === 404 || !response.ok || !type.startsWith('text/event-stream')) {
    // No SSE route (404 from a server without it): poll, and stop trying SSE on this page.
    // A 404 for a job the server does not know ends up as 'Job not found' from the poller.
    if (response.status === 404) sseState = 'absent';
    try { await response.body?.cancel(); } catch (_) { /* already closed */ }
    return 'fallback';
  }
  sseState = 'present';
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (!event || !event.data) continue;  // a comment (heartbeat)
        let job;
        try {
          job = JSON.parse(event.data);
        } catch (_) {
          continue;
        }
        if (deliver(sub, job, event.type)) {
          reader.cancel().catch(() => {});
          return 'done';
        }
      }
    }
  } catch (_) {
    // aborted by unsubscribe, or the connection dropped
  }
  return sub.done ? 'done' : 'fallback';
}

/** One SSE block: `event:` and `data:` lines (data lines joined by newlines). */
export function parseEvent(block) {
  let type = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { type, data: data.join('\n') } : null;
}

/** The shared poller: one `POST /jobs/poll` per tick for every polling subscription. */
const hub = {
  subs: new Set(),
  timer: null,
  running: false,
  add(sub) {
    this.subs.add(sub);
    this.schedule(0);  // the first answer at once, not after a whole interval
  },
  remove(sub) {
    this.subs.delete(sub);
    if (this.subs.size === 0 && this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  },
  soon: false,
  schedule(delay) {
    if (this.running) {
      if (delay === 0) this.soon = true;  // a subscription arrived during a tick
      return;
    }
    if (this.subs.size === 0) return;
    if (this.timer !== null) {
      if (delay > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => this.tick(), delay);
  },
  async tick() {
    this.timer = null;
    const subs = [...this.subs];
    if (subs.length === 0) return;
    this.running = true;
    let jobs = null;
    const ids = [...new Set(subs.map((s) => s.jobId))];
    try {
      jobs = await fetchJobs(ids);
    } catch (error) {
      // A malformed id refuses the batch: ask job by job. Otherwise the server or the
      // network is down for a moment: keep polling.
      if (error.status === 400) jobs = await fetchEach(ids).catch(() => null);
    }
    this.running = false;
    const byId = new Map((jobs || []).map((j) => [j.id, j]));
    for (const sub of subs) {
      if (sub.done) continue;
      sub.attempts++;
      if (jobs) {
        const job = byId.get(sub.jobId.toLowerCase());
        if (!job) {
          fail(sub, new Error('Job not found'));
          continue;
        }
        if (deliver(sub, job, 'poll')) continue;
      }
      const max = sub.handlers.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      if (sub.attempts >= max) fail(sub, new Error('Job polling timed out'));
    }
    const intervals = [...this.subs].map((s) => s.handlers.interval ?? DEFAULT_INTERVAL);
    const soon = this.soon;
    this.soon = false;
    if (intervals.length) this.schedule(soon ? 0 : Math.min(...intervals));
  },
};
