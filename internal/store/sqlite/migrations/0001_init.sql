-- Loupe's core tracing schema. Times are unix nanoseconds (INTEGER).
-- Roll-ups on traces, sessions and projects are maintained by the writer in
-- the same transaction as the spans, so list pages never aggregate spans.

-- AUTOINCREMENT: a deleted project's id (in GlobalIDs and links) is never reused.
CREATE TABLE projects (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT    NOT NULL UNIQUE,
    description    TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_span_time INTEGER            -- start time of the newest span received
);

CREATE TABLE sessions (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    session_id        TEXT    NOT NULL UNIQUE,
    start_time        INTEGER NOT NULL,
    end_time          INTEGER NOT NULL,
    trace_count       INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens      INTEGER NOT NULL DEFAULT 0,
    user_id           TEXT,
    first_input       TEXT,
    first_input_time  INTEGER,        -- start of the trace first_input came from
    last_output       TEXT,
    last_output_time  INTEGER
);
CREATE INDEX sessions_project_start ON sessions(project_id, start_time DESC);

CREATE TABLE traces (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    trace_id           TEXT    NOT NULL UNIQUE,
    session_rowid      INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    start_time         INTEGER NOT NULL,
    end_time           INTEGER NOT NULL,
    root_span_id       TEXT,           -- NULL until the root span arrives
    root_name          TEXT,
    root_kind          TEXT,
    root_status        TEXT,
    span_count         INTEGER NOT NULL DEFAULT 0,
    error_count        INTEGER NOT NULL DEFAULT 0,
    llm_span_count     INTEGER NOT NULL DEFAULT 0,
    prompt_tokens      INTEGER NOT NULL DEFAULT 0,  -- sums over LLM spans only
    completion_tokens  INTEGER NOT NULL DEFAULT 0,
    total_tokens       INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens  INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens   INTEGER NOT NULL DEFAULT 0,
    user_id            TEXT,
    input_preview      TEXT,
    output_preview     TEXT
);
CREATE INDEX traces_project_start ON traces(project_id, start_time DESC);
CREATE INDEX traces_session ON traces(session_rowid) WHERE session_rowid IS NOT NULL;

-- One row per distinct (resource attributes, instrumentation scope) pair.
CREATE TABLE origins (
    id         INTEGER PRIMARY KEY,
    hash       TEXT    NOT NULL UNIQUE,
    resource   TEXT    NOT NULL,        -- JSON object
    scope_name TEXT    NOT NULL,
    scope_version TEXT NOT NULL
);

CREATE TABLE spans (
    id                 INTEGER PRIMARY KEY,
    trace_rowid        INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
    project_id         INTEGER NOT NULL,
    span_id            TEXT    NOT NULL UNIQUE,
    parent_id          TEXT,
    name               TEXT    NOT NULL,
    span_kind          TEXT    NOT NULL,
    start_time         INTEGER NOT NULL,
    end_time           INTEGER NOT NULL,
    status_code        TEXT    NOT NULL,
    status_message     TEXT    NOT NULL,
    model_name         TEXT,
    provider           TEXT,
    session_id         TEXT,
    user_id            TEXT,
    input_value        TEXT,
    input_mime_type    TEXT,
    output_value       TEXT,
    output_mime_type   TEXT,
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    total_tokens       INTEGER,
    cache_read_tokens  INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens   INTEGER,
    -- Every attribute as one flat JSON object, except input.value and
    -- output.value, which live in the columns above and are merged back on read.
    attributes         TEXT    NOT NULL,
    events             TEXT,            -- JSON array, NULL when none
    links              TEXT,            -- JSON array, NULL when none
    otel_kind          INTEGER NOT NULL DEFAULT 0,
    trace_state        TEXT,
    origin_id          INTEGER REFERENCES origins(id)
);
CREATE INDEX spans_trace ON spans(trace_rowid, start_time);
CREATE INDEX spans_project_start ON spans(project_id, start_time DESC);
