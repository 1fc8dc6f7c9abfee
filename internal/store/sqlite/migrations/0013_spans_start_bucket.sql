-- A project's spans by start time in buckets of 2^30 ns, then by row id,
-- in place of spans_project_start_kind (project_id, start_time DESC,
-- span_kind).
--
-- Spans arrive when they end, so their start times reach back over the
-- length of the traces being sent. Keyed by start time, each new entry
-- landed on a page anywhere in that stretch: a commit rewrote most of it,
-- and the index cost the writer more than any other (BENCHMARKS.md, "Time
-- buckets"). Within a bucket, entries now follow the row id, so a new one
-- lands at the end of its bucket. Queries in start-time order name the
-- bucket first and SQLite sorts each bucket as it walks (starttime.go).
DROP INDEX spans_project_start_kind;
CREATE INDEX spans_project_start_bucket ON spans(project_id, start_time >> 30, id, start_time, span_kind);
