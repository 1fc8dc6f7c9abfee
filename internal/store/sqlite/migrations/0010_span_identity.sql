-- A span is unique within its trace, not across the database.
--
-- A UNIQUE index on span_id alone is keyed by a random number: once it
-- outgrows a batch, every stored span dirties a page of it of its own, and
-- that page is written to the log and again at the checkpoint. At 1M small
-- spans it more than doubled the bytes written per span and cost a fifth of the
-- writer's throughput, and both grew with the database (BenchmarkWriteSpans,
-- written-B/span). (trace_rowid, span_id) grows at its end, as new traces
-- get new row ids; a re-sent span repeats its trace, so it is still stored
-- once.
--
-- Looking a span up by its id alone goes through spans_span_id, whose
-- entries are grouped by blocks of 65,536 row ids: new spans only ever land
-- in the newest block, a few hundred pages, and a lookup probes each block
-- (spanIDLookup in spanid.go). Rebuilding 634,000 agent spans (1.5 GB) took
-- 27 s on a 2-core machine.
--
-- SQLite cannot drop a column's UNIQUE constraint, so the table is rebuilt
-- (https://www.sqlite.org/lang_altertable.html#otheralter); the migration
-- runs with foreign key enforcement off, so dropping the old table leaves
-- the annotations that refer to its rows in place.

CREATE TABLE spans_rebuilt (
    id                 INTEGER PRIMARY KEY,
    trace_rowid        INTEGER NOT NULL REFERENCES traces(id) ON DELETE CASCADE,
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
    -- Every attribute as one flat JSON object, except input.value and
    -- output.value, which live in the columns above and are merged back on read.
    attributes         TEXT    NOT NULL,
    events             TEXT,            -- JSON array, NULL when none
    links              TEXT,            -- JSON array, NULL when none
    otel_kind          INTEGER NOT NULL DEFAULT 0,
    trace_state        TEXT,
    origin_id          INTEGER REFERENCES origins(id),
    cost_status        TEXT,            -- NULL, 'priced' or 'no_price'
    cost_total         REAL,
    cost_prompt        REAL,
    cost_completion    REAL,
    cost_details       TEXT,            -- JSON object per token type
    cost_source        TEXT,
    cost_entry         TEXT
);

INSERT INTO spans_rebuilt SELECT
    id, trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
    status_code, status_message, model_name, provider, session_id, user_id,
    input_value, input_mime_type, output_value, output_mime_type,
    prompt_tokens, completion_tokens, total_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
    attributes, events, links, otel_kind, trace_state, origin_id,
    cost_status, cost_total, cost_prompt, cost_completion, cost_details, cost_source, cost_entry
FROM spans;

DROP TABLE spans;
ALTER TABLE spans_rebuilt RENAME TO spans;

CREATE UNIQUE INDEX spans_trace_span ON spans(trace_rowid, span_id);
CREATE INDEX spans_span_id ON spans(id >> 16, span_id);

-- The indexes and trigger the old table had (0001, 0006 to 0009).
CREATE INDEX spans_trace ON spans(trace_rowid, start_time);
CREATE INDEX spans_project_start ON spans(project_id, start_time DESC);
CREATE INDEX spans_project_roots ON spans(project_id, start_time) WHERE parent_id IS NULL;
CREATE INDEX spans_project_kind_start ON spans(project_id, span_kind, start_time);
CREATE INDEX spans_project_rowid ON spans(project_id);
CREATE INDEX spans_trace_parent ON spans(trace_rowid, parent_id);

CREATE TRIGGER span_search_forget AFTER DELETE ON spans BEGIN
    DELETE FROM span_search
        WHERE rowid = old.id AND old.id <= (SELECT indexed_to FROM span_search_state);
    UPDATE span_search_state SET indexed_to = (SELECT coalesce(max(id), 0) FROM spans)
        WHERE indexed_to > (SELECT coalesce(max(id), 0) FROM spans);
END;
