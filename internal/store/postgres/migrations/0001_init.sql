-- Loupe's tracing schema for PostgreSQL. Column names and meanings are the
-- SQLite backend's, so compiled filters run on both: times are unix
-- nanoseconds (BIGINT), attributes one flat JSONB object with dotted keys.
-- Roll-ups on traces, sessions and projects are maintained by the writer in
-- the same transaction as the spans, so list pages never aggregate spans.
--
-- Every index serves a read path named beside it; each one costs ingest
-- throughput, so none is speculative.

CREATE TABLE projects (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT   NOT NULL UNIQUE,
    description    TEXT   NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    last_span_time BIGINT                     -- start time of the newest span received
);

CREATE TABLE sessions (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id        BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    session_id        TEXT   NOT NULL UNIQUE,  -- Session(): lookup by session.id
    start_time        BIGINT NOT NULL,
    end_time          BIGINT NOT NULL,
    trace_count       BIGINT NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT NOT NULL DEFAULT 0,
    completion_tokens BIGINT NOT NULL DEFAULT 0,
    total_tokens      BIGINT NOT NULL DEFAULT 0,
    user_id           TEXT,
    first_input       TEXT,
    first_input_time  BIGINT,                  -- start of the trace first_input came from
    last_output       TEXT,
    last_output_time  BIGINT,
    cost_total        DOUBLE PRECISION NOT NULL DEFAULT 0,
    unpriced_spans    BIGINT NOT NULL DEFAULT 0
);
-- The session list pages by row id within a project.
CREATE INDEX sessions_project ON sessions (project_id, id);
-- A user's sessions.
CREATE INDEX sessions_user ON sessions (project_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE traces (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id         BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    trace_id           TEXT   NOT NULL UNIQUE,  -- trace detail, and the writer's upsert
    session_rowid      BIGINT REFERENCES sessions(id) ON DELETE SET NULL,
    start_time         BIGINT NOT NULL,
    end_time           BIGINT NOT NULL,
    root_span_id       TEXT,                    -- NULL until the root span arrives
    root_name          TEXT,
    root_kind          TEXT,
    root_status        TEXT,
    span_count         BIGINT NOT NULL DEFAULT 0,
    error_count        BIGINT NOT NULL DEFAULT 0,
    llm_span_count     BIGINT NOT NULL DEFAULT 0,
    prompt_tokens      BIGINT NOT NULL DEFAULT 0,  -- sums over LLM spans only
    completion_tokens  BIGINT NOT NULL DEFAULT 0,
    total_tokens       BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens  BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens   BIGINT NOT NULL DEFAULT 0,
    user_id            TEXT,
    input_preview      TEXT,
    output_preview     TEXT,
    cost_total         DOUBLE PRECISION NOT NULL DEFAULT 0,  -- sums over LLM spans
    cost_prompt        DOUBLE PRECISION NOT NULL DEFAULT 0,
    cost_completion    DOUBLE PRECISION NOT NULL DEFAULT 0,
    unpriced_spans     BIGINT NOT NULL DEFAULT 0
);
-- The trace list by start time (keyset on start_time, id), project stats
-- over a time range, and retention (oldest first).
CREATE INDEX traces_project_start ON traces (project_id, start_time, id);
-- The trace list by latency.
CREATE INDEX traces_project_latency ON traces (project_id, (end_time - start_time), id);
-- A session's traces in order.
CREATE INDEX traces_session ON traces (session_rowid, start_time, id) WHERE session_rowid IS NOT NULL;
-- A user's traces.
CREATE INDEX traces_user ON traces (project_id, user_id, start_time) WHERE user_id IS NOT NULL;

-- One row per distinct (resource attributes, instrumentation scope) pair.
CREATE TABLE origins (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash          TEXT   NOT NULL UNIQUE,
    resource      JSONB  NOT NULL,
    scope_name    TEXT   NOT NULL,
    scope_version TEXT   NOT NULL
);

CREATE TABLE spans (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_rowid        BIGINT NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
    project_id         BIGINT NOT NULL,
    span_id            TEXT   NOT NULL UNIQUE,  -- span detail, and idempotent inserts
    parent_id          TEXT,
    name               TEXT   NOT NULL,
    span_kind          TEXT   NOT NULL,
    start_time         BIGINT NOT NULL,
    end_time           BIGINT NOT NULL,
    status_code        TEXT   NOT NULL,
    status_message     TEXT   NOT NULL,
    model_name         TEXT,
    provider           TEXT,
    session_id         TEXT,
    user_id            TEXT,
    input_value        TEXT,
    input_mime_type    TEXT,
    output_value       TEXT,
    output_mime_type   TEXT,
    prompt_tokens      BIGINT,
    completion_tokens  BIGINT,
    total_tokens       BIGINT,
    cache_read_tokens  BIGINT,
    cache_write_tokens BIGINT,
    reasoning_tokens   BIGINT,
    -- Every attribute as one flat object, except input.value and
    -- output.value, which live in the columns above and are merged back on read.
    attributes         JSONB  NOT NULL,
    events             JSONB,                   -- array, NULL when none
    links              JSONB,                   -- array, NULL when none
    otel_kind          INTEGER NOT NULL DEFAULT 0,
    trace_state        TEXT,
    -- No foreign key: origins are never deleted, and checking one would
    -- share-lock the same few origin rows from every concurrent writer.
    origin_id          BIGINT,
    -- A span's cost, computed at ingest from the price table or sent by the
    -- client, and summed into its trace and session in the same transaction.
    cost_status        TEXT,                    -- NULL, 'priced' or 'no_price'
    cost_total         DOUBLE PRECISION,
    cost_prompt        DOUBLE PRECISION,
    cost_completion    DOUBLE PRECISION,
    cost_details       TEXT,                    -- JSON object per token type
    cost_source        TEXT,
    cost_entry         TEXT
);
-- Trace detail and trace trees (in start order), and the cascade from traces.
CREATE INDEX spans_trace ON spans (trace_rowid, start_time);
-- The span list by start time (keyset on start_time, id).
CREATE INDEX spans_project_start ON spans (project_id, start_time, id);
-- The REST span list, newest row first.
CREATE INDEX spans_project_id ON spans (project_id, id);
-- The span list's "root spans only" and "errors only" views: small partial
-- indexes, so a page never walks past the spans it leaves out.
CREATE INDEX spans_project_roots ON spans (project_id, start_time, id) WHERE parent_id IS NULL;
CREATE INDEX spans_project_errors ON spans (project_id, start_time, id) WHERE status_code = 'ERROR';

-- Annotations: judgements attached to spans, traces, sessions and retrieved
-- documents. A (name, entity, identifier) triple is unique, so writes are
-- upserts. Each has an index on its entity for the cascade of deletes.

CREATE TABLE span_annotations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    span_rowid     BIGINT NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
    name           TEXT   NOT NULL,
    label          TEXT,
    score          DOUBLE PRECISION,
    explanation    TEXT,
    metadata       JSONB  NOT NULL DEFAULT '{}',
    annotator_kind TEXT   NOT NULL,
    identifier     TEXT   NOT NULL DEFAULT '',
    source         TEXT   NOT NULL DEFAULT 'API',
    user_id        BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (name, span_rowid, identifier)
);
CREATE INDEX span_annotations_span ON span_annotations (span_rowid);

CREATE TABLE trace_annotations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trace_rowid    BIGINT NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
    name           TEXT   NOT NULL,
    label          TEXT,
    score          DOUBLE PRECISION,
    explanation    TEXT,
    metadata       JSONB  NOT NULL DEFAULT '{}',
    annotator_kind TEXT   NOT NULL,
    identifier     TEXT   NOT NULL DEFAULT '',
    source         TEXT   NOT NULL DEFAULT 'API',
    user_id        BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (name, trace_rowid, identifier)
);
CREATE INDEX trace_annotations_trace ON trace_annotations (trace_rowid);

CREATE TABLE session_annotations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_rowid  BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name           TEXT   NOT NULL,
    label          TEXT,
    score          DOUBLE PRECISION,
    explanation    TEXT,
    metadata       JSONB  NOT NULL DEFAULT '{}',
    annotator_kind TEXT   NOT NULL,
    identifier     TEXT   NOT NULL DEFAULT '',
    source         TEXT   NOT NULL DEFAULT 'API',
    user_id        BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (name, session_rowid, identifier)
);
CREATE INDEX session_annotations_session ON session_annotations (session_rowid);

CREATE TABLE document_annotations (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    span_rowid        BIGINT NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
    document_position INTEGER NOT NULL,
    name              TEXT   NOT NULL,
    label             TEXT,
    score             DOUBLE PRECISION,
    explanation       TEXT,
    metadata          JSONB  NOT NULL DEFAULT '{}',
    annotator_kind    TEXT   NOT NULL,
    identifier        TEXT   NOT NULL DEFAULT '',
    source            TEXT   NOT NULL DEFAULT 'API',
    user_id           BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    UNIQUE (name, span_rowid, document_position, identifier)
);
CREATE INDEX document_annotations_span ON document_annotations (span_rowid);

-- Every model seen on an LLM span, for the prices page ("last used").
CREATE TABLE models (
    model_name     TEXT             NOT NULL,
    provider       TEXT             NOT NULL DEFAULT '',
    first_seen     BIGINT           NOT NULL,
    last_seen      BIGINT           NOT NULL,
    span_count     BIGINT           NOT NULL DEFAULT 0,
    total_tokens   BIGINT           NOT NULL DEFAULT 0,
    cost_total     DOUBLE PRECISION NOT NULL DEFAULT 0,
    unpriced_spans BIGINT           NOT NULL DEFAULT 0,
    PRIMARY KEY (model_name, provider)
);

-- Hourly sums of LLM usage per project along a few dimensions, so that cost
-- and token reports never aggregate spans. They outlive the spans retention
-- deletes: they are the project's cost history.
CREATE TABLE usage_rollups (
    project_id        BIGINT           NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    dimension         TEXT             NOT NULL, -- 'model', 'user', 'prompt_version'
    key               TEXT             NOT NULL,
    hour              BIGINT           NOT NULL, -- unix ns at the start of the hour
    llm_spans         BIGINT           NOT NULL DEFAULT 0,
    prompt_tokens     BIGINT           NOT NULL DEFAULT 0,
    completion_tokens BIGINT           NOT NULL DEFAULT 0,
    total_tokens      BIGINT           NOT NULL DEFAULT 0,
    cache_read_tokens BIGINT           NOT NULL DEFAULT 0,
    reasoning_tokens  BIGINT           NOT NULL DEFAULT 0,
    cost_total        DOUBLE PRECISION NOT NULL DEFAULT 0,
    unpriced_spans    BIGINT           NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, dimension, key, hour)
);

-- Server-wide settings shared by every server on the database, such as the
-- user's model prices. Values are JSON, kept as sent.
CREATE TABLE settings (
    key        TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
