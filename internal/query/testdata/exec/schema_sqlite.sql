-- The parts of Loupe's SQLite schema that compiled filters read.
CREATE TABLE traces (
    id         INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL,
    trace_id   TEXT    NOT NULL UNIQUE,
    start_time INTEGER NOT NULL,
    end_time   INTEGER NOT NULL
);
CREATE TABLE spans (
    id                 INTEGER PRIMARY KEY,
    trace_rowid        INTEGER NOT NULL REFERENCES traces(id),
    project_id         INTEGER NOT NULL,
    span_id            TEXT    NOT NULL,
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
    attributes         TEXT    NOT NULL,
    events             TEXT
);
CREATE UNIQUE INDEX spans_trace_span ON spans(trace_rowid, span_id);
CREATE INDEX spans_trace_parent ON spans(trace_rowid, parent_id);
CREATE TABLE span_annotations (
    id             INTEGER PRIMARY KEY,
    span_rowid     INTEGER NOT NULL REFERENCES spans(id),
    name           TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL DEFAULT 'HUMAN',
    identifier     TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL DEFAULT 0,
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        INTEGER,
    UNIQUE (name, span_rowid, identifier)
);
CREATE TABLE trace_annotations (
    id             INTEGER PRIMARY KEY,
    trace_rowid    INTEGER NOT NULL REFERENCES traces(id),
    name           TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL DEFAULT 'HUMAN',
    identifier     TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL DEFAULT 0,
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        INTEGER,
    UNIQUE (name, trace_rowid, identifier)
);
