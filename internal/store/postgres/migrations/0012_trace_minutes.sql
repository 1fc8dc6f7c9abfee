-- Per-minute sums of each project's traces, by the minute a trace starts
-- in: what the project header, the home page and the metrics page sum over
-- a time range. Summing the traces themselves grew with them: over a week
-- of 1M agent spans (143,000 traces) the header's sums took 0.5-1.5 s of
-- every page. A week is 10,080 rows here whatever the traffic.
--
-- The writer moves the sums by what each batch changes, in the statement
-- that updates the traces (write.go, updateTraces). A trace counts once it
-- holds a span (span_count > 0): the writer inserts a trace empty and fills
-- it in the same transaction. The statement-level trigger below keeps the
-- sums through what deletes traces (retention, deleting a trace, a session
-- or a project); the few other paths that change a trace in place
-- (transfer, a span's deletion, repricing) recount the traces they touch
-- (retallyTraceMinutes). A row whose traces are all gone is deleted.
-- ok_traces are traces without errors whose root span is OK, as the
-- metrics page counts them; max_latency is the longest trace a minute ever
-- held, so a trace filter on latency reads only the minutes where a trace
-- may match: it only grows, which costs a read of a minute, never a match.
CREATE TABLE trace_minutes (
    project_id        BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    minute            BIGINT NOT NULL, -- the traces' start time, floored to the minute (ns)
    traces            BIGINT NOT NULL,
    error_traces      BIGINT NOT NULL,
    ok_traces         BIGINT NOT NULL,
    spans             BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    total_tokens      BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    reasoning_tokens  BIGINT NOT NULL,
    cost_total        DOUBLE PRECISION NOT NULL,
    unpriced_spans    BIGINT NOT NULL,
    max_latency       BIGINT NOT NULL,
    PRIMARY KEY (project_id, minute)
);

INSERT INTO trace_minutes
SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS minute,
    count(*), count(*) FILTER (WHERE error_count > 0),
    count(*) FILTER (WHERE error_count = 0 AND root_status IS NOT DISTINCT FROM 'OK'), sum(span_count),
    sum(prompt_tokens), sum(completion_tokens), sum(total_tokens), sum(cache_read_tokens), sum(reasoning_tokens),
    sum(cost_total), sum(unpriced_spans), max(end_time - start_time)
FROM traces WHERE span_count > 0 GROUP BY 1, 2;

CREATE FUNCTION trace_minutes_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE trace_minutes m SET traces = m.traces - g.traces, error_traces = m.error_traces - g.error_traces,
        ok_traces = m.ok_traces - g.ok_traces, spans = m.spans - g.spans, prompt_tokens = m.prompt_tokens - g.prompt_tokens,
        completion_tokens = m.completion_tokens - g.completion_tokens, total_tokens = m.total_tokens - g.total_tokens,
        cache_read_tokens = m.cache_read_tokens - g.cache_read_tokens, reasoning_tokens = m.reasoning_tokens - g.reasoning_tokens,
        cost_total = m.cost_total - g.cost_total, unpriced_spans = m.unpriced_spans - g.unpriced_spans
    FROM (
        SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS minute,
            count(*) AS traces, count(*) FILTER (WHERE error_count > 0) AS error_traces,
            count(*) FILTER (WHERE error_count = 0 AND root_status IS NOT DISTINCT FROM 'OK') AS ok_traces,
            sum(span_count) AS spans, sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens,
            sum(total_tokens) AS total_tokens, sum(cache_read_tokens) AS cache_read_tokens,
            sum(reasoning_tokens) AS reasoning_tokens, sum(cost_total) AS cost_total, sum(unpriced_spans) AS unpriced_spans
        FROM gone WHERE span_count > 0 GROUP BY 1, 2 ORDER BY 1, 2
    ) g
    WHERE m.project_id = g.project_id AND m.minute = g.minute;
    DELETE FROM trace_minutes m USING gone g
    WHERE m.project_id = g.project_id
        AND m.minute = g.start_time - ((g.start_time % 60000000000) + 60000000000) % 60000000000 AND m.traces <= 0;
    RETURN NULL;
END $$;

CREATE TRIGGER trace_minutes_delete AFTER DELETE ON traces
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION trace_minutes_forget();

-- The project header's and the metrics page's latency sample (the newest
-- traces in range) read from the index alone.
DROP INDEX traces_project_start;
CREATE INDEX traces_project_start ON traces (project_id, start_time, id) INCLUDE (end_time);
