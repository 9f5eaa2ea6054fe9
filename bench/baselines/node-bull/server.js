'use strict';
// The original stack's job flow (Express + Bull + Redis + Postgres) for a no-op job,
// the baseline of `scripts/bench.sh compare`. One process serves the API and runs the
// Bull worker, as the original did:
//
//   POST /jobs {"type":"noop"}   insert a `jobs` row (queued), add it to the Bull queue,
//                                answer 202 {"job_id","status":"queued","message"}
//   worker                       UPDATE processing, UPDATE progress 50, UPDATE completed
//                                (three separate statements, like the original's worker)
//   GET  /jobs/:id               the row, 404 {"error":"Job not found"} for unknown/foreign
//   POST /jobs/poll              {"job_ids":[...]} -> {"jobs":[...]} (at most 100 ids)
//   GET  /health                 {"status":"ok"}
// Every route is also served under /api. The owner is the X-User-ID header.
//
// Env: PORT (required), BIND (127.0.0.1), DATABASE_URL, PG_SCHEMA (schema of the jobs
// table; created if missing), PG_POOL_SIZE (10, pg's default), REDIS_URL,
// BULL_PREFIX (Bull's key prefix, default "bull"), WORKER_CONCURRENCY (1, the
// original's default).
const express = require('express');
const Queue = require('bull');
const { Pool } = require('pg');

function env(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') {
    if (fallback === undefined) {
      console.error(`node-bull: ${name} is required`);
      process.exit(2);
    }
    return fallback;
  }
  return v;
}

function positiveInt(name, fallback, max = 1024) {
  const n = Number(env(name, fallback === undefined ? undefined : String(fallback)));
  if (!Number.isInteger(n) || n < 1 || n > max) {
    console.error(`node-bull: ${name} must be a whole number 1..${max}`);
    process.exit(2);
  }
  return n;
}

const port = positiveInt('PORT', undefined, 65535);
const bind = env('BIND', '127.0.0.1');
const schema = env('PG_SCHEMA', 'node_bull');
if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
  console.error('node-bull: PG_SCHEMA must be a plain lower-case identifier');
  process.exit(2);
}
const concurrency = positiveInt('WORKER_CONCURRENCY', 1);
const pool = new Pool({
  connectionString: env('DATABASE_URL'),
  max: positiveInt('PG_POOL_SIZE', 10),
});
const queue = new Queue('jobs', env('REDIS_URL'), { prefix: env('BULL_PREFIX', 'bull') });

const table = `${schema}.jobs`;
const columns = 'id, owner_id, type, status, progress, data, result, error, ' +
  'created_at, started_at, completed_at';
// The original's table (the columns jobserver keeps too), in its own schema.
const createSql = [
  `CREATE SCHEMA IF NOT EXISTS ${schema}`,
  `CREATE TABLE IF NOT EXISTS ${table} (
     id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
     owner_id TEXT NOT NULL,
     type TEXT NOT NULL,
     status TEXT NOT NULL DEFAULT 'queued'
       CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
     progress INTEGER NOT NULL DEFAULT 0,
     data JSONB,
     result JSONB,
     error TEXT,
     created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     started_at TIMESTAMPTZ,
     completed_at TIMESTAMPTZ)`,
  `CREATE INDEX IF NOT EXISTS jobs_owner_id_idx ON ${table} (owner_id)`,
  `CREATE INDEX IF NOT EXISTS jobs_status_idx ON ${table} (status)`,
  `CREATE INDEX IF NOT EXISTS jobs_type_idx ON ${table} (type)`,
  `CREATE INDEX IF NOT EXISTS jobs_created_at_idx ON ${table} (created_at)`,
];
const insertSql = `INSERT INTO ${table} (owner_id, type, status, data) VALUES ($1, $2, 'queued', $3) RETURNING id`;
const startSql = `UPDATE ${table} SET status = 'processing', started_at = now() WHERE id = $1`;
const progressSql = `UPDATE ${table} SET progress = $2 WHERE id = $1`;
const completeSql = `UPDATE ${table} SET status = 'completed', progress = 100, result = $2, completed_at = now() WHERE id = $1`;
const failSql = `UPDATE ${table} SET status = 'failed', error = $2, completed_at = now() WHERE id = $1`;
const getSql = `SELECT ${columns} FROM ${table} WHERE id = $1 AND owner_id = $2`;
const pollSql = `SELECT ${columns} FROM ${table} WHERE id = ANY($1::uuid[]) AND owner_id = $2`;

const uuidRe = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class HttpError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function owner(req) {
  const id = req.get('X-User-ID') || 'dev-user-001';
  if (id.length > 128) throw new HttpError(400, 'X-User-ID is too long', 'invalid_input');
  return id;
}

// Express 4 does not catch rejected promises of async handlers.
const wrap = (fn) => (req, res, next) => fn(req, res).catch(next);

const api = express.Router();

api.get('/health', (req, res) => res.json({ status: 'ok' }));

api.post('/jobs', wrap(async (req, res) => {
  const user = owner(req);
  const body = req.body;
  if (!body || typeof body !== 'object' || body.type !== 'noop') {
    throw new HttpError(400, 'Unknown job type (baseline: noop)', 'invalid_input');
  }
  const data = body.data && typeof body.data === 'object' ? body.data : {};
  const { rows } = await pool.query(insertSql, [user, 'noop', data]);
  const id = rows[0].id;
  await queue.add({ jobId: id, type: 'noop' });
  res.status(202).json({ job_id: id, status: 'queued', message: 'Job queued' });
}));

api.post('/jobs/poll', wrap(async (req, res) => {
  const user = owner(req);
  const ids = req.body && req.body.job_ids;
  if (!Array.isArray(ids) || ids.length > 100 || !ids.every((i) => typeof i === 'string')) {
    throw new HttpError(400, 'job_ids must be an array of at most 100 ids', 'invalid_input');
  }
  const valid = ids.filter((i) => uuidRe.test(i));
  if (valid.length === 0) return res.json({ jobs: [] });
  const { rows } = await pool.query(pollSql, [valid, user]);
  res.json({ jobs: rows });
}));

api.get('/jobs/:id', wrap(async (req, res) => {
  const user = owner(req);
  if (!uuidRe.test(req.params.id)) throw new HttpError(400, 'Invalid job id', 'invalid_input');
  const { rows } = await pool.query(getSql, [req.params.id, user]);
  if (rows.length === 0) throw new HttpError(404, 'Job not found', 'not_found');
  res.json(rows[0]);
}));

const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '1mb' }));
app.use('/', api);
app.use('/api', api);
app.use((req, res) => res.status(404).json({ error: 'Not found', code: 'not_found' }));
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  if (err instanceof HttpError) return res.status(err.status).json({ error: err.message, code: err.code });
  if (err.type === 'entity.parse.failed') {
    return res.status(400).json({ error: 'Malformed JSON body', code: 'invalid_input' });
  }
  if (err.type === 'entity.too.large') {
    return res.status(413).json({ error: 'Body too large', code: 'too_large' });
  }
  console.error(`node-bull: ${req.method} ${req.path}: ${err.message}`);
  res.status(500).json({ error: 'Internal error', code: 'internal' });
});

// The worker: the original's three separate updates per job.
queue.process(concurrency, async (job) => {
  const id = job.data.jobId;
  await pool.query(startSql, [id]);
  await pool.query(progressSql, [id, 50]);
  await pool.query(completeSql, [id, { ok: true }]);
});
queue.on('failed', (job, err) => {
  pool.query(failSql, [job.data.jobId, String(err && err.message)]).catch(() => {});
});
queue.on('error', (err) => console.error(`node-bull: queue error: ${err.message}`));

async function main() {
  for (const sql of createSql) await pool.query(sql);
  await queue.isReady();
  const server = app.listen(port, bind, () => {
    console.log(`node-bull: listening on ${bind}:${port}, worker concurrency ${concurrency}, ` +
      `node ${process.version}`);
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    server.close();
    try {
      await queue.close();
      await pool.end();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(`node-bull: start failed: ${err.message}`);
  process.exit(1);
});
