-- Retention policies: how much of a project's history to keep. A zero bound
-- keeps everything. Projects without a row of their own follow the default,
-- the one row of default_retention_policy.
CREATE TABLE retention_policies (
    project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,
    max_days   REAL    NOT NULL DEFAULT 0,
    max_traces INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);

CREATE TABLE default_retention_policy (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    max_days   REAL    NOT NULL DEFAULT 0,
    max_traces INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
