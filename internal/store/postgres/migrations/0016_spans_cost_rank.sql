-- The Spans list ranked by cost or by tokens ("the most expensive calls
-- this week"): only the spans with some are in these indexes, so spans
-- without tokens or cost (tools, chains, retrievers) add no entry.
CREATE INDEX spans_project_cost ON spans (project_id, cost_total, id) INCLUDE (start_time, span_kind) WHERE cost_total > 0;
CREATE INDEX spans_project_tokens ON spans (project_id, total_tokens, id) INCLUDE (start_time, span_kind) WHERE total_tokens > 0;
