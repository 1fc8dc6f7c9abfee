-- A trace is found by its id through blocks, not through a UNIQUE index.
--
-- Trace ids are random, so a UNIQUE index on trace_id puts almost every new
-- trace on a page of its own: at 3M small spans that index was half of the
-- pages each commit wrote to the log, and its share grew with the database
-- (BENCHMARKS.md, "Sustained runs and the trace_id index"). As spans_span_id
-- does for spans (0010), traces_trace_id groups its entries by blocks of
-- 65,536 row ids, so new traces only land in the newest block, and a lookup
-- by trace id probes each block (traceIDLookup in traceid.go).
--
-- The writer keeps a trace id stored once: it is the only writer of traces
-- (one process has the database open, lock_unix.go), looks each batch's
-- traces up before inserting the new ones, and knows which ids are surely new
-- from a filter of the stored ids (traceid.go). Upgrading 578,000 traces
-- (a 1.9 GB database of 4.3M small spans) took 7.9 s on a 2-core machine.
--
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter), with foreign key
-- enforcement off so that the spans and annotations of its rows stay.

CREATE TABLE traces_rebuilt (
    id                 INTEGER PRIMARY KEY,
    project_id         INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    trace_id           TEXT    NOT NULL,
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
    output_preview     TEXT,
    cost_total         REAL    NOT NULL DEFAULT 0,
    cost_prompt        REAL    NOT NULL DEFAULT 0,
    cost_completion    REAL    NOT NULL DEFAULT 0,
    unpriced_spans     INTEGER NOT NULL DEFAULT 0
);

INSERT INTO traces_rebuilt SELECT
    id, project_id, trace_id, session_rowid, start_time, end_time,
    root_span_id, root_name, root_kind, root_status,
    span_count, error_count, llm_span_count,
    prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    user_id, input_preview, output_preview,
    cost_total, cost_prompt, cost_completion, unpriced_spans
FROM traces;

DROP TABLE traces;
ALTER TABLE traces_rebuilt RENAME TO traces;

CREATE INDEX traces_trace_id ON traces(id >> 16, trace_id);

-- The indexes the old table had (0001, 0006).
CREATE INDEX traces_project_start ON traces(project_id, start_time DESC);
CREATE INDEX traces_session ON traces(session_rowid) WHERE session_rowid IS NOT NULL;
CREATE INDEX traces_project_stats ON traces(project_id, start_time, end_time, error_count, span_count,
    prompt_tokens, completion_tokens, total_tokens, cost_total);
