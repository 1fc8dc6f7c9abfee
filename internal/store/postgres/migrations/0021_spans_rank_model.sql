-- The Spans list ranked by cost or tokens and filtered keeps its ranking
-- (a filter tested along the ranked index). The model and the status join
-- the start time and kind in these indexes, so that "the costliest calls
-- of this model" and "the costliest failures" are tested in the index
-- rather than on a row read for each span ranked above the first match.
DROP INDEX spans_project_cost;
DROP INDEX spans_project_tokens;
CREATE INDEX spans_project_cost ON spans (project_id, cost_total, id) INCLUDE (start_time, span_kind, model_name, status_code) WHERE cost_total > 0;
CREATE INDEX spans_project_tokens ON spans (project_id, total_tokens, id) INCLUDE (start_time, span_kind, model_name, status_code) WHERE total_tokens > 0;
