// What the browser scenarios share: a private Postgres schema and Redis key prefix per
// run (as tests/support/server_process does for the C++ end-to-end tests), real
// jobserver processes on free loopback ports, Debian's chromium through playwright-core,
// and a cleanup that always runs.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (ctest sets it; see tests/CMakeLists.txt)`);
  return v;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until it returns a truthy value or `ms` pass. */
export async function eventually(cond, ms = 20000, what = 'condition') {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      last = await cond();
      if (last) return last;
    } catch (_) { /* not yet */ }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export class Env {
  constructor(name) {
    this.name = name;
    this.binary = need('JOBSERVER_BINARY');
    this.sourceDir = need('JOBSERVER_SOURCE_DIR');
    this.outDir = need('BROWSER_TEST_OUT');
    this.databaseUrl = process.env.DATABASE_URL || 'postgresql://jobserver:jobserver@127.0.0.1:54329/jobserver';
    this.redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:63799/0';
    const tag = randomBytes(5).toString('hex');
    this.schema = `b_${name.replace(/\W/g, '_')}_${tag}`;
    this.prefix = `jb_${tag}`;
    this.storage = fs.mkdtempSync(path.join(os.tmpdir(), 'jobserver-browser-'));
    this.servers = [];
    this.browser = null;
    this.cleanups = [];
    fs.mkdirSync(this.outDir, { recursive: true });
  }

  psql(sql) {
    execFileSync('psql', [this.databaseUrl, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: 'pipe' });
  }

  async setup() {
    this.psql(`CREATE SCHEMA ${this.schema}`);
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // root in CI: Chromium's sandbox needs user namespaces it may not get.
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  }

  /** Starts a jobserver on this run's schema/prefix; `env` overrides the defaults. */
  async startServer(env = {}) {
    const port = env.HTTP_PORT !== undefined ? Number(env.HTTP_PORT) : await freePort();
    const sep = this.databaseUrl.includes('?') ? '&' : '?';
    const nodeId = `browser-${this.name}-${this.servers.length}-${port}`;
    const log = path.join(this.outDir, `${this.name}-server-${this.servers.length}.log`);
    const fd = fs.openSync(log, 'w');
    const proc = spawn(this.binary, [], {
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: `${this.databaseUrl}${sep}options=-csearch_path%3D${this.schema}`,
        REDIS_URL: this.redisUrl,
        REDIS_PREFIX: this.prefix,
        HTTP_PORT: String(port),
        BIND: '127.0.0.1',
        STORAGE_DIR: this.storage,
        NODE_ID: nodeId,
        LOG_LEVEL: 'info',
        HTTP_THREADS: '32',
        ...env,
      },
      stdio: ['ignore', fd, fd],
    });
    fs.closeSync(fd);
    const server = { proc, port, url: `http://127.0.0.1:${port}`, log, exited: false };
    proc.on('exit', () => { server.exited = true; });
    this.servers.push(server);
    if (port !== 0) {
      await eventually(async () => {
        if (server.exited) throw new Error(`jobserver exited; see ${log}`);
        const r = await fetch(`${server.url}/health`);
        return r.ok;
      }, 20000, `jobserver on port ${port}`).catch((e) => {
        if (server.exited) throw new Error(`jobserver did not start; see ${log}`);
        throw e;
      });
    } else {
      await sleep(300);
      if (server.exited) throw new Error(`jobserver worker did not start; see ${log}`);
    }
    return server;
  }

  async stopServer(server) {
    if (server.exited) return;
    server.proc.kill('SIGTERM');
    const until = Date.now() + 10000;
    while (!server.exited && Date.now() < until) await sleep(50);
    if (!server.exited) server.proc.kill('SIGKILL');
  }

  /** A browser context acting as dev user `user` (set as the identity switcher would). */
  async context(user) {
    const ctx = await this.browser.newContext({ viewport: { width: 1200, height: 850 } });
    if (user) {
      await ctx.addInitScript((u) => {
        if (!localStorage.getItem('jobserver.identity')) {
          localStorage.setItem('jobserver.identity', JSON.stringify({ userId: u }));
        }
      }, user);
    }
    return ctx;
  }

  async screenshot(page, label) {
    const file = path.join(this.outDir, `${this.name}${label ? `-${label}` : ''}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  /** Runs every cleanup, in reverse order, whatever fails. */
  async teardown() {
    for (const fn of this.cleanups.reverse()) {
      try { await fn(); } catch (e) { console.error(`cleanup: ${e.message}`); }
    }
    if (this.browser) await this.browser.close().catch(() => {});
    for (const s of this.servers) await this.stopServer(s).catch(() => {});
    try { this.psql(`DROP SCHEMA IF EXISTS ${this.schema} CASCADE`); } catch (e) { console.error(`drop schema: ${e.message}`); }
    try { this.clearRedis(); } catch (e) { console.error(`redis cleanup: ${e.message}`); }
    fs.rmSync(this.storage, { recursive: true, force: true });
  }

  clearRedis() {
    for (const pattern of [`${this.prefix}:*`, `{${this.prefix}:*`]) {
      const keys = execFileSync('redis-cli', ['-u', this.redisUrl, '--scan', '--pattern', pattern],
        { encoding: 'utf8' }).split('\n').filter(Boolean);
      for (let i = 0; i < keys.length; i += 200) {
        execFileSync('redis-cli', ['-u', this.redisUrl, 'DEL', ...keys.slice(i, i + 200)], { stdio: 'pipe' });
      }
    }
  }

  /** scripts/services.sh <command> (stop-redis, start-redis), with this run's environment. */
  services(command) {
    execFileSync(path.join(this.sourceDir, 'scripts/services.sh'), [command],
      { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
  }
}

/** A JSON call to a server as dev user `user`. */
export async function call(server, method, route, { user, json, form } = {}) {
  const headers = user ? { 'X-User-ID': user } : {};
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  const r = await fetch(`${server.url}${route}`, { method, headers, body });
  const text = await r.text();
  let data = null;
  try { data = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: r.status, body: data, text, headers: r.headers };
}

/** Uploads `pdf` into a new course through the API; answers { course, job_id, document_id }. */
export async function uploadViaApi(server, user, pdf, title) {
  const course = (await call(server, 'POST', '/courses', { user, json: { name: `${title} course` } })).body;
  const form = new FormData();
  form.append('course_id', course.id);
  form.append('title', title);
  form.append('file', new Blob([pdf], { type: 'application/pdf' }), `${title}.pdf`);
  const r = await call(server, 'POST', '/upload/pdf-structured', { user, form });
  if (r.status !== 202) throw new Error(`upload answered ${r.status}: ${r.text}`);
  return { course, ...r.body };
}

export async function waitForJob(server, user, jobId, status = 'completed', ms = 30000) {
  return eventually(async () => {
    const r = await call(server, 'GET', `/jobs/${jobId}`, { user });
    if (r.body && r.body.status === 'failed' && status !== 'failed') {
      throw new Error(`job ${jobId} failed: ${r.body.error}`);
    }
    return r.body && r.body.status === status ? r.body : null;
  }, ms, `job ${jobId} ${status}`);
}

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}
