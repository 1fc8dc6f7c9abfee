-- Cost. A span's cost is computed at ingest from the price table (or sent by
-- the client) and summed into its trace and session in the same transaction
-- as the span. usage_rollups holds hourly sums per project along a few
-- dimensions (model, user, prompt template version), so that cost and token
-- reports never aggregate spans.

ALTER TABLE spans ADD COLUMN cost_status     TEXT; -- NULL, 'priced' or 'no_price'
ALTER TABLE spans ADD COLUMN cost_total      REAL;
ALTER TABLE spans ADD COLUMN cost_prompt     REAL;
ALTER TABLE spans ADD COLUMN cost_completion REAL;
ALTER TABLE spans ADD COLUMN cost_details    TEXT; -- JSON object per token type
ALTER TABLE spans ADD COLUMN cost_source     TEXT;
ALTER TABLE spans ADD COLUMN cost_entry      TEXT;

ALTER TABLE traces ADD COLUMN cost_total      REAL    NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN cost_prompt     REAL    NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN cost_completion REAL    NOT NULL DEFAULT 0;
ALTER TABLE traces ADD COLUMN unpriced_spans  INTEGER NOT NULL DEFAULT 0;

ALTER TABLE sessions ADD COLUMN cost_total     REAL    NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN unpriced_spans INTEGER NOT NULL DEFAULT 0;

-- Every model seen on an LLM span, for the prices page ("last used").
CREATE TABLE models (
    model_name     TEXT    NOT NULL,
    provider       TEXT    NOT NULL DEFAULT '',
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    span_count     INTEGER NOT NULL DEFAULT 0,
    total_tokens   INTEGER NOT NULL DEFAULT 0,
    cost_total     REAL    NOT NULL DEFAULT 0,
    unpriced_spans INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (model_name, provider)
);

CREATE TABLE usage_rollups (
    project_id        INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    dimension         TEXT    NOT NULL, -- 'model', 'user', 'prompt_version'
    key               TEXT    NOT NULL,
    hour              INTEGER NOT NULL, -- unix ns at the start of the hour
    llm_spans         INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens      INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_total        REAL    NOT NULL DEFAULT 0,
    unpriced_spans    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, dimension, key, hour)
) WITHOUT ROWID;
