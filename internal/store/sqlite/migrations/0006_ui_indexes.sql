-- Indexes for the web UI's first screens, measured with BenchmarkUIReads
-- (read_ui_bench_test.go).

-- The project header's stats over a time range read this index alone,
-- never the trace rows with their input and output previews.
CREATE INDEX traces_project_stats ON traces(project_id, start_time, end_time, error_count, span_count,
    prompt_tokens, completion_tokens, total_tokens, cost_total);

-- The Spans tab's "root spans only": one entry per trace.
CREATE INDEX spans_project_roots ON spans(project_id, start_time) WHERE parent_id IS NULL;

-- The Spans tab's kind filter: a page of LLM spans without walking the
-- tool spans between them.
CREATE INDEX spans_project_kind_start ON spans(project_id, span_kind, start_time);
