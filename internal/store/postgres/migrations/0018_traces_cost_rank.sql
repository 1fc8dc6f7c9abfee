-- The Traces list ranked by cost or by tokens: a page walks the traces in
-- that order and tests the time range in the index.
CREATE INDEX traces_project_cost ON traces (project_id, cost_total, id) INCLUDE (start_time, error_count);
CREATE INDEX traces_project_tokens ON traces (project_id, total_tokens, id) INCLUDE (start_time, error_count);
