-- The parts of the PostgreSQL schema that compiled filters read.
CREATE TABLE traces (
    id         BIGINT PRIMARY KEY,
    project_id BIGINT NOT NULL,
    trace_id   TEXT    NOT NULL UNIQUE,
    start_time BIGINT NOT NULL,
    end_time   BIGINT NOT NULL
);
CREATE TABLE spans (
    id                 BIGINT PRIMARY KEY,
    trace_rowid        BIGINT NOT NULL REFERENCES traces(id),
    project_id         BIGINT NOT NULL,
    span_id            TEXT    NOT NULL,
    parent_id          TEXT,
    name               TEXT    NOT NULL,
    span_kind          TEXT    NOT NULL,
    start_time         BIGINT NOT NULL,
    end_time           BIGINT NOT NULL,
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
    prompt_tokens      BIGINT,
    completion_tokens  BIGINT,
    total_tokens       BIGINT,
    cache_read_tokens  BIGINT,
    cache_write_tokens BIGINT,
    reasoning_tokens   BIGINT,
    attributes         JSONB   NOT NULL,
    events             JSONB
);
CREATE INDEX spans_trace ON spans(trace_rowid, start_time);
ALTER TABLE spans ADD CONSTRAINT spans_trace_span UNIQUE (trace_rowid, span_id);
CREATE TABLE span_annotations (
    id             BIGINT PRIMARY KEY,
    span_rowid     BIGINT NOT NULL REFERENCES spans(id),
    name           TEXT    NOT NULL,
    label          TEXT,
    score          DOUBLE PRECISION,
    explanation    TEXT,
    metadata       JSONB   NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL DEFAULT 'HUMAN',
    identifier     TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL DEFAULT 0,
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        BIGINT,
    UNIQUE (name, span_rowid, identifier)
);
CREATE TABLE trace_annotations (
    id             BIGINT PRIMARY KEY,
    trace_rowid    BIGINT NOT NULL REFERENCES traces(id),
    name           TEXT    NOT NULL,
    label          TEXT,
    score          DOUBLE PRECISION,
    explanation    TEXT,
    metadata       JSONB   NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL DEFAULT 'HUMAN',
    identifier     TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL DEFAULT 0,
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        BIGINT,
    UNIQUE (name, trace_rowid, identifier)
);
