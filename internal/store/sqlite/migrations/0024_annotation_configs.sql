-- Annotation configs: optional definitions of annotation names (the labels
-- a categorical one allows, the bounds of a score), as Phoenix keeps them.
-- The definition is JSON, read and checked by package store.
CREATE TABLE annotation_configs (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    config     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
