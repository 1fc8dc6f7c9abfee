-- What each minute of a project's spans holds, by kind and by whether the
-- spans are roots: how many failed, the longest latency, the largest token
-- counts and cost, and a 62-bit filter of the models named
-- (loupe_model_bit). A filter on those (latency_ms > 6000, an error, a
-- model, a token count, a cost, a kind) reads first the minutes where a
-- span may match, and only those minutes' spans: over a week of 1M agent
-- spans a filter that matched nothing read every span in range, 0.8-2 s
-- of CPU a page.
--
-- The writer adds each batch to its minutes (spanminutes.go); repricing
-- raises max_cost and a transfer adds the spans to the other project's
-- minutes. Deletes leave the minutes as they were: a minute may then claim
-- more than its spans hold, which costs a read of its spans, never a match.
CREATE TABLE span_minutes (
    project_id            INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    minute                INTEGER NOT NULL, -- the spans' start time, floored to the minute (ns)
    kind                  TEXT    NOT NULL,
    root                  INTEGER NOT NULL, -- 1 for spans without a parent
    errors                INTEGER NOT NULL,
    max_latency           INTEGER NOT NULL, -- ns
    max_prompt_tokens     INTEGER NOT NULL, -- 0 when none has any
    max_completion_tokens INTEGER NOT NULL,
    max_total_tokens      INTEGER NOT NULL,
    max_cost              REAL    NOT NULL,
    models                INTEGER NOT NULL, -- loupe_model_bit of each model name, ORed
    PRIMARY KEY (project_id, minute, kind, root)
) WITHOUT ROWID;

INSERT INTO span_minutes
SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS m,
    span_kind, parent_id IS NULL AS r, sum(status_code = 'ERROR'), max(end_time - start_time),
    max(coalesce(prompt_tokens, 0)), max(coalesce(completion_tokens, 0)), max(coalesce(total_tokens, 0)),
    max(coalesce(cost_total, 0)), coalesce(sum(DISTINCT loupe_model_bit(model_name)), 0)
FROM spans GROUP BY project_id, m, span_kind, r;
