-- The Spans list ranked by cost or by tokens ("the most expensive calls
-- this week"): only the spans with some are in these indexes, with their
-- start time and kind, so a page tests the time range and the kind in the
-- index and reads the rows of the page alone. Spans without tokens or cost
-- (tools, chains, retrievers: most of an agent's spans) add no entry.
CREATE INDEX spans_project_cost ON spans(project_id, cost_total, id, start_time, span_kind) WHERE cost_total > 0;
CREATE INDEX spans_project_tokens ON spans(project_id, total_tokens, id, start_time, span_kind) WHERE total_tokens > 0;
