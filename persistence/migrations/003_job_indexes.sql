-- Fewer indexes on jobs. Every state change of a job (queued, processing, finished) writes
-- a new row version, and each version is inserted into every index whose columns or
-- predicate change, so each index costs three insertions per job. Kept:
--   the primary key;
--   (owner_id, created_at, id): a user's history, newest first, with its cursor (it also
--     serves every other per-owner lookup, so the index on owner_id alone goes);
--   unfinished jobs by age (the reconciler, the queue metrics): partial, so it holds only
--     queued and processing jobs and a finished job's version adds nothing to it.
-- Gone: status (three entries per job, almost all of them dead soon), type and created_at
-- alone (no query used them). Retention finds old finished jobs by a scan of the table,
-- once per CLEANUP_INTERVAL_MINUTES (docs/operations.md).
DROP INDEX IF EXISTS jobs_owner_id_idx;
DROP INDEX IF EXISTS jobs_status_idx;
DROP INDEX IF EXISTS jobs_type_idx;
DROP INDEX IF EXISTS jobs_created_at_idx;
CREATE INDEX IF NOT EXISTS jobs_owner_created_idx ON jobs (owner_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS jobs_unfinished_idx ON jobs (created_at)
  WHERE status IN ('queued', 'processing');
