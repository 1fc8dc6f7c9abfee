-- Per-minute sums of each project's traces, by the minute a trace starts
-- in: what the project header, the home page and the metrics page sum over
-- a time range. Summing the traces themselves grew with them: over a week
-- of 1M agent spans (143,000 traces) the header took about 100 ms of every
-- project page and the home page as much per busy project, and the metrics
-- page's 30 days 270 ms. A week is 10,080 rows here whatever the traffic.
--
-- The writer moves the sums by what each batch changes, a statement per
-- minute it touched (write.go, storeTraceMinutes); so do a span's deletion
-- and repricing (manage.go, cost.go). Triggers keep them through what
-- deletes traces (retention, deleting a trace, a session or a project) and
-- moves them to another project, none of which the writer does: a trigger
-- on every trace the writer inserts or updates cost it 6-19% of its speed
-- (BenchmarkWriteSpans). A row whose traces are all gone is deleted.
-- ok_traces are traces without errors whose root span is OK, as the
-- metrics page counts them.
CREATE TABLE trace_minutes (
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    minute            INTEGER NOT NULL, -- the traces' start time, floored to the minute (ns)
    traces            INTEGER NOT NULL,
    error_traces      INTEGER NOT NULL,
    ok_traces         INTEGER NOT NULL,
    spans             INTEGER NOT NULL,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    total_tokens      INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL,
    cost_total        REAL    NOT NULL,
    unpriced_spans    INTEGER NOT NULL,
    PRIMARY KEY (project_id, minute)
) WITHOUT ROWID;

INSERT INTO trace_minutes
SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS minute,
    count(*), sum(error_count > 0), sum(error_count = 0 AND coalesce(root_status, '') = 'OK'), sum(span_count),
    sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cache_read_tokens), sum(reasoning_tokens),
    sum(cost_total), sum(unpriced_spans)
FROM traces GROUP BY project_id, minute;

CREATE TRIGGER trace_minutes_delete AFTER DELETE ON traces BEGIN
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
END;

-- A transferred trace leaves its project's row for the other project's.
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
    INSERT INTO trace_minutes VALUES (new.project_id,
        new.start_time - ((new.start_time % 60000000000) + 60000000000) % 60000000000,
        1, new.error_count > 0, new.error_count = 0 AND coalesce(new.root_status, '') = 'OK', new.span_count,
        new.prompt_tokens, new.completion_tokens, new.total_tokens, new.cache_read_tokens, new.reasoning_tokens,
        new.cost_total, new.unpriced_spans)
    ON CONFLICT (project_id, minute) DO UPDATE SET traces = traces + 1,
        error_traces = error_traces + excluded.error_traces, ok_traces = ok_traces + excluded.ok_traces,
        spans = spans + excluded.spans, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens, total_tokens = total_tokens + excluded.total_tokens,
        cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cost_total = cost_total + excluded.cost_total, unpriced_spans = unpriced_spans + excluded.unpriced_spans;
END;
