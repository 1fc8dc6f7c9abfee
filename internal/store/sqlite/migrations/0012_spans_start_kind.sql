-- One index on a project's spans by start time, with the kind in it, in
-- place of two: spans_project_start and spans_project_kind_start.
--
-- Spans arrive when they end, so their start times reach back over the
-- length of the traces being sent: each new entry of an index keyed by start
-- time lands on a page anywhere in the last seconds to minutes of the index,
-- not at its end. Under load every ingest batch rewrote hundreds of pages of
-- each of the two indexes, and their insertions were the largest part of the
-- writer's time. With the kind an indexed column, a page of LLM spans walks
-- the spans between them in the index alone, without reading their rows
-- (BENCHMARKS.md, "One time index on spans").
DROP INDEX spans_project_kind_start;
DROP INDEX spans_project_start;
CREATE INDEX spans_project_start_kind ON spans(project_id, start_time DESC, span_kind);
