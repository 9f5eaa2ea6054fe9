-- The whole data model (docs/architecture.md, "Data model").
-- Row-level security: a row is visible when its owner_id equals app.user_id, the
-- per-transaction setting the server makes from the authenticated user. The engine's own
-- maintenance (claiming, recovery, retention) runs with app.system = 'on', which only the
-- server's code sets and no request value ever reaches.

CREATE TABLE jobs (
  id               UUID PRIMARY KEY,
  owner_id         TEXT NOT NULL,
  type             TEXT NOT NULL,
  status           TEXT NOT NULL DEFAULT 'queued'
                   CHECK (status IN ('queued', 'processing', 'completed', 'failed')),
  progress         INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  data             JSONB,
  result           JSONB,
  error            TEXT,
  created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  started_at       TIMESTAMPTZ,
  completed_at     TIMESTAMPTZ,
  -- engine columns
  attempts         INTEGER NOT NULL DEFAULT 0,
  max_attempts     INTEGER NOT NULL DEFAULT 1,
  priority         INTEGER NOT NULL DEFAULT 5,
  parent_id        UUID REFERENCES jobs (id) ON DELETE CASCADE,
  updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  node_id          TEXT,
  lease_token      BIGINT NOT NULL DEFAULT 0,
  cancel_requested BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX jobs_owner_id_idx ON jobs (owner_id);  -- history: per owner, then sorted
CREATE INDEX jobs_status_idx ON jobs (status);
CREATE INDEX jobs_type_idx ON jobs (type);
CREATE INDEX jobs_created_at_idx ON jobs (created_at);
CREATE INDEX jobs_parent_id_idx ON jobs (parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE courses (
  id         UUID PRIMARY KEY,
  owner_id   TEXT NOT NULL,
  name       TEXT NOT NULL,
  code       TEXT,
  term       TEXT,
  exam_date  DATE,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX courses_owner_id_idx ON courses (owner_id);

CREATE TABLE documents (
  id                UUID PRIMARY KEY,
  owner_id          TEXT NOT NULL,
  course_id         UUID REFERENCES courses (id) ON DELETE CASCADE,
  title             TEXT NOT NULL,
  original_filename TEXT,
  storage_path      TEXT,
  pages             INTEGER,
  material_type     TEXT,
  chapter           TEXT,
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX documents_owner_id_idx ON documents (owner_id);
CREATE INDEX documents_course_id_idx ON documents (course_id);

CREATE TABLE sections (
  id                 UUID PRIMARY KEY,
  owner_id           TEXT NOT NULL,
  document_id        UUID NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  course_id          UUID REFERENCES courses (id) ON DELETE CASCADE,
  section_number     INTEGER NOT NULL,
  name               TEXT NOT NULL,
  description        TEXT,
  markdown_text      TEXT,
  page_start         INTEGER,
  page_end           INTEGER,
  concepts_generated BOOLEAN NOT NULL DEFAULT false,
  created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (document_id, section_number)
);
CREATE INDEX sections_owner_id_idx ON sections (owner_id);

CREATE TABLE lessons (
  id          UUID PRIMARY KEY,
  owner_id    TEXT NOT NULL,
  document_id UUID NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  course_id   UUID REFERENCES courses (id) ON DELETE CASCADE,
  section_id  UUID REFERENCES sections (id) ON DELETE CASCADE,
  topic       TEXT NOT NULL,
  summary     TEXT,
  explanation TEXT,
  concepts    JSONB NOT NULL DEFAULT '[]'::jsonb,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (owner_id, section_id)
);
CREATE INDEX lessons_owner_id_idx ON lessons (owner_id);
CREATE INDEX lessons_document_id_idx ON lessons (document_id);

DO $$
DECLARE t TEXT;
BEGIN
  FOREACH t IN ARRAY ARRAY['jobs', 'courses', 'documents', 'sections', 'lessons'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format($p$CREATE POLICY %I ON %I
        USING (owner_id = current_setting('app.user_id', true)
               OR current_setting('app.system', true) = 'on')
        WITH CHECK (owner_id = current_setting('app.user_id', true)
               OR current_setting('app.system', true) = 'on')$p$, t || '_owner', t);
  END LOOP;
END
$$;

-- ISO-8601 UTC text with milliseconds, the form every timestamp takes in the API.
CREATE FUNCTION iso_utc(ts TIMESTAMPTZ) RETURNS TEXT LANGUAGE sql IMMUTABLE AS
$$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;
