-- What each minute of a project's spans holds, by kind and by whether the
-- spans are roots: how many failed, the longest latency, the largest token
-- counts and cost, and a 62-bit filter of the models named
-- (loupe_model_bit). A filter on those (latency_ms > 6000, an error, a
-- model, a token count, a cost, a kind) reads first the minutes where a
-- span may match, and only those minutes' spans: over a week of 1M agent
-- spans a filter that matched nothing read every span in range, 7-14 s a
-- page.
--
-- The writer adds each batch to its minutes in the batch's transaction
-- (spanminutes.go); repricing raises max_cost and a transfer adds the
-- spans to the other project's minutes. Deletes leave the minutes as they
-- were: a minute may then claim more than its spans hold, which costs a
-- read of its spans, never a match.
CREATE TABLE span_minutes (
    project_id            BIGINT  NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    minute                BIGINT  NOT NULL, -- the spans' start time, floored to the minute (ns)
    kind                  TEXT    NOT NULL,
    root                  BOOLEAN NOT NULL, -- spans without a parent
    errors                BIGINT  NOT NULL,
    max_latency           BIGINT  NOT NULL, -- ns
    max_prompt_tokens     BIGINT  NOT NULL, -- 0 when none has any
    max_completion_tokens BIGINT  NOT NULL,
    max_total_tokens      BIGINT  NOT NULL,
    max_cost              DOUBLE PRECISION NOT NULL,
    models                BIGINT  NOT NULL, -- loupe_model_bit of each model name, ORed
    PRIMARY KEY (project_id, minute, kind, root)
);

-- The bit of span_minutes.models a model name sets: one of 62, from the
-- first 32 bits of its MD5 (spanminutes.go, modelBit, computes the same).
CREATE FUNCTION loupe_model_bit(name TEXT) RETURNS BIGINT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN CASE WHEN name = '' THEN 0 ELSE 1::bigint << (('x' || substr(md5(name), 1, 8))::bit(32)::bigint % 62)::int END;

INSERT INTO span_minutes
SELECT project_id, start_time - ((start_time % 60000000000) + 60000000000) % 60000000000 AS m,
    span_kind, parent_id IS NULL AS r, count(*) FILTER (WHERE status_code = 'ERROR'), max(end_time - start_time),
    max(coalesce(prompt_tokens, 0)), max(coalesce(completion_tokens, 0)), max(coalesce(total_tokens, 0)),
    coalesce(max(cost_total) FILTER (WHERE cost_status = 'priced'), 0), coalesce(bit_or(loupe_model_bit(model_name)), 0)
FROM spans GROUP BY 1, 2, 3, 4;
