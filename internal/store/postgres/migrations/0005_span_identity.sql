-- A span is unique within its trace, not across the database, as in the
-- SQLite store: a span id reused by another trace (a client with a broken
-- id generator, or two that collide) is stored, not dropped as a re-send.
-- A re-sent span repeats its trace, so it is still stored once. Lookups by
-- span id alone use spans_span_id and take the first span stored.
ALTER TABLE spans DROP CONSTRAINT spans_span_id_key;
ALTER TABLE spans ADD CONSTRAINT spans_trace_span UNIQUE (trace_rowid, span_id);
CREATE INDEX spans_span_id ON spans (span_id, id);
