-- Annotations: judgements attached to spans, traces, sessions and retrieved
-- documents (human feedback, LLM and code evaluations). A (name, entity,
-- identifier) triple is unique, so writes are upserts.

CREATE TABLE span_annotations (
    id             INTEGER PRIMARY KEY,
    span_rowid     INTEGER NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL,
    identifier     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (name, span_rowid, identifier)
);
CREATE INDEX span_annotations_span ON span_annotations(span_rowid);

CREATE TABLE trace_annotations (
    id             INTEGER PRIMARY KEY,
    trace_rowid    INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL,
    identifier     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (name, trace_rowid, identifier)
);
CREATE INDEX trace_annotations_trace ON trace_annotations(trace_rowid);

CREATE TABLE session_annotations (
    id             INTEGER PRIMARY KEY,
    session_rowid  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    label          TEXT,
    score          REAL,
    explanation    TEXT,
    metadata       TEXT    NOT NULL DEFAULT '{}',
    annotator_kind TEXT    NOT NULL,
    identifier     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT 'API',
    user_id        INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (name, session_rowid, identifier)
);
CREATE INDEX session_annotations_session ON session_annotations(session_rowid);

CREATE TABLE document_annotations (
    id                INTEGER PRIMARY KEY,
    span_rowid        INTEGER NOT NULL REFERENCES spans(id) ON DELETE CASCADE,
    document_position INTEGER NOT NULL,
    name              TEXT    NOT NULL,
    label             TEXT,
    score             REAL,
    explanation       TEXT,
    metadata          TEXT    NOT NULL DEFAULT '{}',
    annotator_kind    TEXT    NOT NULL,
    identifier        TEXT    NOT NULL DEFAULT '',
    source            TEXT    NOT NULL DEFAULT 'API',
    user_id           INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (name, span_rowid, document_position, identifier)
);
CREATE INDEX document_annotations_span ON document_annotations(span_rowid);
