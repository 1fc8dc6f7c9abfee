-- The Traces list ranked by cost or by tokens: a page walks the traces in
-- that order and tests the time range in the index, where ranking on
-- traces_project_stats sorted every trace in range (130,000 in a week of
-- the 1M-span corpus) for each page.
CREATE INDEX traces_project_cost ON traces(project_id, cost_total, id, start_time, error_count);
CREATE INDEX traces_project_tokens ON traces(project_id, total_tokens, id, start_time, error_count);
