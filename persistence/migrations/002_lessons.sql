-- Lesson generation: de-duplication of in-flight jobs, and one whole-document lesson.

-- A job with a dedup key is unique among the unfinished jobs: two requests to generate the
-- same lesson at the same moment create one job (the database decides, not a check-then-
-- insert race in the server).
ALTER TABLE jobs ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX jobs_dedup_active_idx ON jobs (dedup_key)
  WHERE dedup_key IS NOT NULL AND status IN ('queued', 'processing');

-- UNIQUE (owner_id, section_id) does not cover lessons of a whole document (section NULL).
CREATE UNIQUE INDEX lessons_document_lesson_idx ON lessons (owner_id, document_id)
  WHERE section_id IS NULL;
