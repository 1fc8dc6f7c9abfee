-- The longest trace of each minute of trace_minutes (0020), so that a trace
-- filter on latency (latency_ms > 6000, the REST list's min_latency_ms)
-- reads only the minutes where a trace may match, as span filters read
-- span_minutes (0023): over a week of 1M agent spans, a trace filter that
-- matched nothing read all 143,000 traces, 210-290 ms a page. It only
-- grows: a trace deleted leaves it as it was, which costs a read of that
-- minute's traces, never a match.
ALTER TABLE trace_minutes ADD COLUMN max_latency INTEGER NOT NULL DEFAULT 0;

UPDATE trace_minutes SET max_latency = coalesce((SELECT max(end_time - start_time) FROM traces
    WHERE traces.project_id = trace_minutes.project_id
        AND traces.start_time >= trace_minutes.minute AND traces.start_time < trace_minutes.minute + 60000000000), 0);

-- A transferred trace joins its new project's minute with its latency.
DROP TRIGGER trace_minutes_transfer;
CREATE TRIGGER trace_minutes_transfer AFTER UPDATE OF project_id ON traces
WHEN new.project_id != old.project_id
BEGIN
    UPDATE trace_minutes SET traces = traces - 1,
        error_traces = error_traces - (old.error_count > 0),
        ok_traces = ok_traces - (old.error_count = 0 AND coalesce(old.root_status, '') = 'OK'),
        spans = spans - old.span_count, prompt_tokens = prompt_tokens - old.prompt_tokens,
        completion_tokens = completion_tokens - old.completion_tokens, total_tokens = total_tokens - old.total_tokens,
        cache_read_tokens = cache_read_tokens - old.cache_read_tokens, reasoning_tokens = reasoning_tokens - old.reasoning_tokens,
        cost_total = cost_total - old.cost_total, unpriced_spans = unpriced_spans - old.unpriced_spans
    WHERE project_id = old.project_id
        AND minute = old.start_time - ((old.start_time % 60000000000) + 60000000000) % 60000000000;
    DELETE FROM trace_minutes WHERE project_id = old.project_id
        AND minute = old.start_time - ((old.start_time % 60000000000) + 60000000000) % 60000000000 AND traces = 0;
    INSERT INTO trace_minutes (project_id, minute, traces, error_traces, ok_traces, spans, prompt_tokens, completion_tokens,
        total_tokens, cache_read_tokens, reasoning_tokens, cost_total, unpriced_spans, max_latency)
    VALUES (new.project_id,
        new.start_time - ((new.start_time % 60000000000) + 60000000000) % 60000000000,
        1, new.error_count > 0, new.error_count = 0 AND coalesce(new.root_status, '') = 'OK', new.span_count,
        new.prompt_tokens, new.completion_tokens, new.total_tokens, new.cache_read_tokens, new.reasoning_tokens,
        new.cost_total, new.unpriced_spans, new.end_time - new.start_time)
    ON CONFLICT (project_id, minute) DO UPDATE SET traces = traces + 1,
        error_traces = error_traces + excluded.error_traces, ok_traces = ok_traces + excluded.ok_traces,
        spans = spans + excluded.spans, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans,
        max_latency = max(max_latency, excluded.max_latency);
END;
